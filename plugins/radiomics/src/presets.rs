//! Processing protocols: every option of the image processing and the discretisation
//! in one value, and the IBSI lung-CT configurations A-E as named presets of them
//! (the manual's "Reference data sets" tables; `--param preset=ibsi-ct-a` ... `e`).

use crate::features::roi::{Discretisation, Families, Ivh, Texture};
use crate::preprocess::{Interpolation, Resampling, Resegmentation};

/// From the scan to the grey levels the features are computed on.
#[derive(Debug, Clone, PartialEq)]
pub struct Protocol {
    pub resampling: Option<Resampling>,
    pub resegmentation: Resegmentation,
    /// Grey levels for texture and the intensity histogram.
    pub discretisation: Discretisation,
    pub ivh: Ivh,
    /// The texture aggregations computed (IBSI: a configuration is 2D or 3D).
    pub texture: Texture,
    /// The feature families computed.
    pub families: Families,
}

impl Protocol {
    /// What the features compute under this protocol.
    pub fn scope(&self) -> crate::features::Scope {
        crate::features::Scope { texture: self.texture, families: self.families }
    }
}

/// The preset names, in order.
pub const IBSI_CT: [&str; 5] = ["ibsi-ct-a", "ibsi-ct-b", "ibsi-ct-c", "ibsi-ct-d", "ibsi-ct-e"];

/// A named preset, or `None`.
pub fn preset(name: &str) -> Option<Protocol> {
    let resample = |spacing: [Option<f64>; 3], image| Some(Resampling { spacing, image, round: true, partial_volume: 0.5 });
    let iso2 = [Some(2.0); 3];
    let axial2 = [Some(2.0), Some(2.0), None];
    let range = |lo: f64, hi: f64, outliers_3sd| Resegmentation { range: Some((lo, hi)), outliers_3sd };
    Some(match name {
        // 2D, no interpolation, [-500, 400] HU, FBS 25 HU; IVH on the HU themselves.
        "ibsi-ct-a" => Protocol {
            resampling: None,
            resegmentation: range(-500.0, 400.0, false),
            discretisation: Discretisation::BinWidth { width: 25.0, lower: -500.0 },
            ivh: Ivh::Intensities { range: Some((-500.0, 400.0)) },
            texture: Texture::Planar,
            families: Families::All,
        },
        // 2D, bilinear onto 2 x 2 mm in-plane, [-500, 400] HU, FBN 32.
        "ibsi-ct-b" => Protocol {
            resampling: resample(axial2, Interpolation::Linear),
            resegmentation: range(-500.0, 400.0, false),
            discretisation: Discretisation::BinNumber(32),
            ivh: Ivh::Intensities { range: Some((-500.0, 400.0)) },
            texture: Texture::Planar,
            families: Families::All,
        },
        // 3D, trilinear onto 2 mm, [-1000, 400] HU, FBS 25 HU; IVH in 2.5 HU bins.
        "ibsi-ct-c" => Protocol {
            resampling: resample(iso2, Interpolation::Linear),
            resegmentation: range(-1000.0, 400.0, false),
            discretisation: Discretisation::BinWidth { width: 25.0, lower: -1000.0 },
            ivh: Ivh::BinWidth { width: 2.5, lower: -1000.0, upper: 400.0 },
            texture: Texture::Volumetric,
            families: Families::All,
        },
        // 3D, trilinear onto 2 mm, no range, 3 sigma outliers, FBN 32.
        "ibsi-ct-d" => Protocol {
            resampling: resample(iso2, Interpolation::Linear),
            resegmentation: Resegmentation { range: None, outliers_3sd: true },
            discretisation: Discretisation::BinNumber(32),
            ivh: Ivh::Intensities { range: None },
            texture: Texture::Volumetric,
            families: Families::All,
        },
        // 3D, tricubic spline onto 2 mm, [-1000, 400] HU and 3 sigma, FBN 32; IVH in
        // 1000 bins (arbitrary units).
        "ibsi-ct-e" => Protocol {
            resampling: resample(iso2, Interpolation::CubicSpline),
            resegmentation: range(-1000.0, 400.0, true),
            discretisation: Discretisation::BinNumber(32),
            ivh: Ivh::BinNumber(1000),
            texture: Texture::Volumetric,
            families: Families::All,
        },
        _ => return None,
    })
}
