//! Connected components of a binary mask (two-pass union-find, linear time).

/// Which neighbours count as touching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connectivity {
    /// Face neighbours only.
    Six,
    /// Face, edge and corner neighbours.
    TwentySix,
}

/// Component labels, numbered by decreasing size: label 1 is the largest, 0 is background.
#[derive(Debug, Clone)]
pub struct Components {
    pub labels: Vec<u32>,
    /// `sizes[n - 1]` is the voxel count of label `n`.
    pub sizes: Vec<usize>,
}

impl Components {
    pub fn count(&self) -> usize {
        self.sizes.len()
    }
    /// Mask of label `n`.
    pub fn mask(&self, n: u32) -> Vec<bool> {
        self.labels.iter().map(|&l| l == n).collect()
    }
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[x as usize];
        parent[x as usize] = parent[p as usize]; // path halving
        x = p;
    }
    x
}

fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        parent[hi as usize] = lo;
    }
}

/// Labels the connected components of `mask` on a grid of `dims` (i fastest).
pub fn label(mask: &[bool], dims: [usize; 3], connectivity: Connectivity) -> Components {
    let [nx, ny, nz] = dims;
    assert_eq!(mask.len(), nx * ny * nz, "mask length does not match dims");
    // Neighbours already visited in scan order.
    let offsets: Vec<[isize; 3]> = match connectivity {
        Connectivity::Six => vec![[-1, 0, 0], [0, -1, 0], [0, 0, -1]],
        Connectivity::TwentySix => {
            let mut v = Vec::new();
            for dk in -1..=0isize {
                for dj in -1..=1isize {
                    for di in -1..=1isize {
                        let earlier = dk < 0 || (dk == 0 && (dj < 0 || (dj == 0 && di < 0)));
                        if earlier {
                            v.push([di, dj, dk]);
                        }
                    }
                }
            }
            v
        }
    };
    let mut provisional = vec![0u32; mask.len()];
    let mut parent: Vec<u32> = vec![0]; // index 0 = background
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                let idx = i + nx * (j + ny * k);
                if !mask[idx] {
                    continue;
                }
                let mut current = 0u32;
                for o in &offsets {
                    let (ii, jj, kk) = (i as isize + o[0], j as isize + o[1], k as isize + o[2]);
                    if ii < 0 || jj < 0 || kk < 0 || ii >= nx as isize || jj >= ny as isize {
                        continue;
                    }
                    let n = provisional[ii as usize + nx * (jj as usize + ny * kk as usize)];
                    if n == 0 {
                        continue;
                    }
                    if current == 0 {
                        current = n;
                    } else if current != n {
                        union(&mut parent, current, n);
                    }
                }
                if current == 0 {
                    current = parent.len() as u32;
                    parent.push(current);
                }
                provisional[idx] = current;
            }
        }
    }
    // Resolve roots, count, and renumber by decreasing size (ties by first occurrence).
    let mut size_of_root = vec![0usize; parent.len()];
    for p in provisional.iter_mut().filter(|p| **p != 0) {
        *p = find(&mut parent, *p);
        size_of_root[*p as usize] += 1;
    }
    let mut roots: Vec<u32> = (1..parent.len() as u32).filter(|&r| size_of_root[r as usize] > 0).collect();
    roots.sort_by(|a, b| size_of_root[*b as usize].cmp(&size_of_root[*a as usize]).then(a.cmp(b)));
    let mut new_label = vec![0u32; parent.len()];
    for (n, r) in roots.iter().enumerate() {
        new_label[*r as usize] = n as u32 + 1;
    }
    let labels = provisional.iter().map(|&p| new_label[p as usize]).collect();
    let sizes = roots.iter().map(|r| size_of_root[*r as usize]).collect();
    Components { labels, sizes }
}

/// The largest connected component of `mask` (empty mask stays empty).
pub fn largest(mask: &[bool], dims: [usize; 3], connectivity: Connectivity) -> Vec<bool> {
    let c = label(mask, dims, connectivity);
    c.labels.iter().map(|&l| l == 1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(dims: [usize; 3], on: &[[usize; 3]]) -> Vec<bool> {
        let mut m = vec![false; dims[0] * dims[1] * dims[2]];
        for p in on {
            m[p[0] + dims[0] * (p[1] + dims[1] * p[2])] = true;
        }
        m
    }

    #[test]
    fn diagonal_voxels_join_only_with_26_connectivity() {
        let dims = [4, 4, 4];
        let m = grid(dims, &[[0, 0, 0], [1, 1, 1], [3, 3, 3]]);
        assert_eq!(label(&m, dims, Connectivity::Six).count(), 3);
        let c = label(&m, dims, Connectivity::TwentySix);
        assert_eq!(c.count(), 2);
        assert_eq!(c.sizes, vec![2, 1]);
    }

    #[test]
    fn u_shape_merges_into_one_component_numbered_by_size() {
        // A U in the xy plane: two arms joined at the bottom, found as two
        // provisional labels that must be unioned. Plus a lone voxel.
        let dims = [5, 5, 2];
        let mut on = vec![];
        for j in 0..5 {
            on.push([0, j, 0]);
            on.push([2, j, 0]);
        }
        on.push([1, 4, 0]);
        on.push([4, 0, 1]);
        let c = label(&grid(dims, &on), dims, Connectivity::Six);
        assert_eq!(c.sizes, vec![11, 1]);
        assert_eq!(c.labels[0], 1);
        assert_eq!(c.labels[4 + 25], 2);
        let big = largest(&grid(dims, &on), dims, Connectivity::Six);
        assert_eq!(big.iter().filter(|&&b| b).count(), 11);
    }
}
