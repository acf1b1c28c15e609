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

/// Neighbours already visited in scan order, as (di, dj, dk).
fn earlier_neighbours(connectivity: Connectivity) -> Vec<[isize; 3]> {
    match connectivity {
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
    }
}

/// Labels the connected components of `mask` on a grid of `dims` (i fastest).
///
/// Slabs of slices are labelled side by side (provisional labels numbered in scan
/// order, each slab after the one before), joined across the slices between them,
/// and resolved; a component's root is its smallest provisional label, i.e. its first
/// voxel in scan order, so the numbering is exactly that of one serial pass.
pub fn label(mask: &[bool], dims: [usize; 3], connectivity: Connectivity) -> Components {
    use rayon::prelude::*;
    let [nx, ny, nz] = dims;
    assert_eq!(mask.len(), nx * ny * nz, "mask length does not match dims");
    let offsets = earlier_neighbours(connectivity);
    let plane = nx * ny;
    let slab_count = (rayon::current_num_threads() * 4).clamp(1, nz.max(1));
    let bounds: Vec<(usize, usize)> = (0..slab_count).map(|s| (s * nz / slab_count, (s + 1) * nz / slab_count)).filter(|(a, b)| b > a).collect();
    let mut provisional = vec![0u32; mask.len()];
    // Each slab: its own provisional labels and union-find forest.
    let mut pieces: Vec<&mut [u32]> = Vec::new();
    let mut rest: &mut [u32] = &mut provisional;
    for &(k0, k1) in &bounds {
        let (head, tail) = rest.split_at_mut((k1 - k0) * plane);
        pieces.push(head);
        rest = tail;
    }
    let parents: Vec<(Vec<u32>, Vec<u32>)> = pieces
        .into_par_iter()
        .zip(bounds.par_iter())
        .map(|(labels, &(k0, k1))| label_slab(&mask[k0 * plane..k1 * plane], labels, [nx, ny, k1 - k0], &offsets))
        .collect();
    // One forest: slab s's labels follow slab s-1's.
    let mut start = Vec::with_capacity(parents.len());
    let mut parent: Vec<u32> = vec![0]; // index 0 = background
    let mut voxels_of: Vec<u32> = vec![0];
    for (p, counts) in &parents {
        let offset = parent.len() as u32 - 1;
        start.push(offset);
        parent.extend(p[1..].iter().map(|&x| x + offset));
        voxels_of.extend_from_slice(&counts[1..]);
    }
    // The slab of each slice, for its label offset (labels are made global lazily, in
    // the passes below, rather than in a pass of their own).
    let offset_of_slice: Vec<u32> = bounds.iter().zip(&start).flat_map(|(&(k0, k1), &o)| std::iter::repeat_n(o, k1 - k0)).collect();
    let global = |k: usize, l: u32| if l == 0 { 0 } else { l + offset_of_slice[k] };
    // Join each slab's first slice to the slice before it.
    let below: Vec<&[isize; 3]> = offsets.iter().filter(|o| o[2] < 0).collect();
    for &(k0, _) in bounds.iter().skip(1) {
        for j in 0..ny {
            for i in 0..nx {
                let idx = i + nx * (j + ny * k0);
                let here = global(k0, provisional[idx]);
                if here == 0 {
                    continue;
                }
                for o in &below {
                    let (ii, jj) = (i as isize + o[0], j as isize + o[1]);
                    if ii < 0 || jj < 0 || ii >= nx as isize || jj >= ny as isize {
                        continue;
                    }
                    let n = global(k0 - 1, provisional[ii as usize + nx * (jj as usize + ny * (k0 - 1))]);
                    if n != 0 {
                        union(&mut parent, here, n);
                    }
                }
            }
        }
    }
    // Every link points to a smaller label, so one forward pass resolves every root.
    for x in 1..parent.len() {
        parent[x] = parent[parent[x] as usize];
    }
    // Sizes per root from the first pass's count per provisional label: no pass over
    // the voxels.
    let mut size_of_root = vec![0usize; parent.len()];
    for (l, &n) in voxels_of.iter().enumerate().skip(1) {
        size_of_root[parent[l] as usize] += n as usize;
    }
    // Renumber by decreasing size (ties by first occurrence).
    let mut roots: Vec<u32> = (1..parent.len() as u32).filter(|&r| size_of_root[r as usize] > 0).collect();
    roots.sort_by(|a, b| size_of_root[*b as usize].cmp(&size_of_root[*a as usize]).then(a.cmp(b)));
    let mut new_label = vec![0u32; parent.len()];
    for (n, r) in roots.iter().enumerate() {
        new_label[*r as usize] = n as u32 + 1;
    }
    // In place: a second label array would double the peak (315 MB at 512 x 512 x 300).
    provisional.par_chunks_mut(plane).enumerate().for_each(|(k, slice)| slice.iter_mut().for_each(|l| *l = new_label[parent[global(k, *l) as usize] as usize]));
    let labels = provisional;
    let sizes = roots.iter().map(|r| size_of_root[*r as usize]).collect();
    Components { labels, sizes }
}

/// One slab's first pass: provisional labels in scan order into `labels`, unions in
/// the returned forest (index 0 = background) and the voxel count of each label.
/// Neighbours outside the slab are not looked at; `label` joins slabs afterwards.
fn label_slab(mask: &[bool], labels: &mut [u32], dims: [usize; 3], offsets: &[[isize; 3]]) -> (Vec<u32>, Vec<u32>) {
    let [nx, ny, nz] = dims;
    let to_linear = |o: &[isize; 3]| o[0] + nx as isize * (o[1] + ny as isize * o[2]);
    let linear: Vec<isize> = offsets.iter().map(to_linear).collect();
    // With 26-connectivity every earlier neighbour with di <= 0 touches the voxel to
    // the left, so it is in the left voxel's set already: when the left voxel is set,
    // only the four di = +1 neighbours need a look (He et al.'s shortcut).
    let twenty_six = offsets.len() == 13;
    let right: Vec<isize> = offsets.iter().filter(|o| o[0] == 1).map(to_linear).collect();
    let mut parent: Vec<u32> = vec![0];
    let mut counts: Vec<u32> = vec![0];
    for k in 0..nz {
        for j in 0..ny {
            // Inside the slab and away from the in-plane border every neighbour exists.
            let row_interior = k > 0 && j > 0 && j + 1 < ny;
            for i in 0..nx {
                let idx = i + nx * (j + ny * k);
                if !mask[idx] {
                    continue;
                }
                let mut current = 0u32;
                let mut visit = |n: u32, parent: &mut Vec<u32>| {
                    if n == 0 {
                        return;
                    }
                    if current == 0 {
                        current = n;
                    } else if current != n {
                        union(parent, current, n);
                    }
                };
                if row_interior && i > 0 && i + 1 < nx {
                    let left = labels[idx - 1];
                    if twenty_six && left != 0 {
                        visit(left, &mut parent);
                        for &d in &right {
                            visit(labels[(idx as isize + d) as usize], &mut parent);
                        }
                    } else {
                        for &d in &linear {
                            visit(labels[(idx as isize + d) as usize], &mut parent);
                        }
                    }
                } else {
                    for o in offsets {
                        let (ii, jj, kk) = (i as isize + o[0], j as isize + o[1], k as isize + o[2]);
                        if ii < 0 || jj < 0 || kk < 0 || ii >= nx as isize || jj >= ny as isize {
                            continue;
                        }
                        visit(labels[ii as usize + nx * (jj as usize + ny * kk as usize)], &mut parent);
                    }
                }
                if current == 0 {
                    current = parent.len() as u32;
                    parent.push(current);
                    counts.push(0);
                }
                labels[idx] = current;
                counts[current as usize] += 1;
            }
        }
    }
    (parent, counts)
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

    /// Flood fill from each unlabelled voxel in scan order, then renumber by size
    /// (ties by first voxel): the definition `label` must meet.
    fn flood(mask: &[bool], dims: [usize; 3], c: Connectivity) -> (Vec<u32>, Vec<usize>) {
        let [nx, ny, nz] = dims;
        let mut offs: Vec<[isize; 3]> = earlier_neighbours(c);
        offs.extend(earlier_neighbours(c).iter().map(|o| [-o[0], -o[1], -o[2]]));
        let mut lab = vec![0u32; mask.len()];
        let mut sizes = Vec::new();
        for start in 0..mask.len() {
            if !mask[start] || lab[start] != 0 {
                continue;
            }
            let id = sizes.len() as u32 + 1;
            let mut stack = vec![start];
            lab[start] = id;
            let mut n = 0;
            while let Some(v) = stack.pop() {
                n += 1;
                let (i, j, k) = ((v % nx) as isize, ((v / nx) % ny) as isize, (v / (nx * ny)) as isize);
                for o in &offs {
                    let (a, b, cc) = (i + o[0], j + o[1], k + o[2]);
                    if a < 0 || b < 0 || cc < 0 || a >= nx as isize || b >= ny as isize || cc >= nz as isize {
                        continue;
                    }
                    let w = a as usize + nx * (b as usize + ny * cc as usize);
                    if mask[w] && lab[w] == 0 {
                        lab[w] = id;
                        stack.push(w);
                    }
                }
            }
            sizes.push(n);
        }
        let mut order: Vec<usize> = (0..sizes.len()).collect();
        order.sort_by(|a, b| sizes[*b].cmp(&sizes[*a]).then(a.cmp(b)));
        let mut renumber = vec![0u32; sizes.len() + 1];
        for (n, &o) in order.iter().enumerate() {
            renumber[o + 1] = n as u32 + 1;
        }
        (lab.iter().map(|&l| renumber[l as usize]).collect(), order.iter().map(|&o| sizes[o]).collect())
    }

    #[test]
    fn slabs_label_exactly_as_a_flood_fill() {
        // Many small random blobs across many slabs, both connectivities.
        let dims = [23, 19, 37];
        let mut state = 12345u64;
        let mask: Vec<bool> = (0..dims[0] * dims[1] * dims[2])
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 33) % 100 < 35
            })
            .collect();
        for c in [Connectivity::Six, Connectivity::TwentySix] {
            let got = label(&mask, dims, c);
            let (labels, sizes) = flood(&mask, dims, c);
            assert_eq!(got.sizes, sizes, "{c:?}");
            assert_eq!(got.labels, labels, "{c:?}");
        }
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
