//! Tissue and blood constants, and the microwave properties of liver as it heats.
//!
//! Sources are the rows of `clinical-facts.md` (COMSOL "Liver (human)") and
//! `ablation-physics.md` §2 (MITA vaporisation constants, Ji & Brace dielectric fits).
//! Values are SI (m, s, W, J, K) except temperatures, which are °C throughout.

/// Arterial blood temperature, the body's baseline (°C).
pub const BLOOD_C: f64 = 37.0;
/// Volumetric heat capacity of blood, ρ_b c_b (COMSOL: 1000 kg/m³ × 3639 J/(kg K)).
pub const BLOOD_RHO_C: f64 = 1000.0 * 3639.0;

/// Water vaporisation as an apparent heat capacity (MITA model): the latent heat of the
/// tissue's water is spent between these two temperatures.
pub const VAPOUR_LOW_C: f64 = 99.0;
pub const VAPOUR_HIGH_C: f64 = 101.0;
/// Latent heat of water (J/kg) and density of water (kg/m³).
pub const LATENT_HEAT: f64 = 2260e3;
pub const WATER_DENSITY: f64 = 1000.0;

/// Thermal properties of one tissue class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tissue {
    /// Conductivity k, W/(m K).
    pub conductivity: f64,
    /// Volumetric heat capacity ρc, J/(m³ K).
    pub rho_c: f64,
    /// Perfusion rate ω_b, 1/s (volume of blood per volume of tissue per second).
    pub perfusion: f64,
    /// Mass fraction of water that can vaporise (MITA: 0.8).
    pub water: f64,
}

impl Tissue {
    /// COMSOL "Liver (human)": ρ 1079, c 3540, k 0.52, ω_b 3.6e-3 1/s.
    pub const LIVER: Tissue = Tissue { conductivity: 0.52, rho_c: 1079.0 * 3540.0, perfusion: 3.6e-3, water: 0.8 };
    /// No tumour-specific set was found in the sources; tumours take the liver's.
    pub const TUMOUR: Tissue = Tissue::LIVER;
    /// Soft tissue outside the liver (body wall, fat, muscle): the liver set without the
    /// liver's perfusion is not better founded, so the liver set is used and stated.
    pub const OTHER: Tissue = Tissue::LIVER;

    /// Thermal diffusivity α = k/(ρc), m²/s.
    pub fn diffusivity(&self) -> f64 {
        self.conductivity / self.rho_c
    }
    /// Perfusion rate constant β = ρ_b c_b ω_b/(ρc), 1/s.
    pub fn perfusion_rate(&self) -> f64 {
        BLOOD_RHO_C * self.perfusion / self.rho_c
    }
    /// Perfusion length L = √(α/β), m (6.30 mm for the COMSOL liver).
    pub fn perfusion_length(&self) -> f64 {
        (self.diffusivity() / self.perfusion_rate()).sqrt()
    }
    /// Latent heat of the tissue's water per volume, J/m³.
    pub fn latent(&self) -> f64 {
        WATER_DENSITY * LATENT_HEAT * self.water
    }
}

/// Ji & Brace fit η(T) = s1·[1 − 1/(1 + exp(s2 − s3·T))] + s4, T in °C.
fn sigmoid_fit(s: [f64; 4], t: f64) -> f64 {
    s[0] * (1.0 - 1.0 / (1.0 + (s[1] - s[2] * t).exp())) + s[3]
}

/// Relative permittivity of liver at 2.45 GHz (Ji & Brace).
pub fn permittivity(t: f64) -> f64 {
    sigmoid_fit([48.391, 6.286, 0.0764, 1.0], t)
}

/// Electrical conductivity of liver at 2.45 GHz, S/m (Ji & Brace).
pub fn electric_conductivity(t: f64) -> f64 {
    sigmoid_fit([2.173, 5.951, 0.0697, 0.0], t)
}

/// Power attenuation coefficient 2α of a plane wave at `frequency` Hz in liver at `t` °C,
/// 1/m: power falls as exp(−2α·d). About 113 1/m (1/e depth 8.9 mm) at 37 °C and 2.45 GHz,
/// 65 1/m (15.5 mm) at 100 °C, as the tissue dries out.
pub fn power_attenuation(t: f64, frequency: f64) -> f64 {
    const EPS0: f64 = 8.854_187_8128e-12;
    const C: f64 = 299_792_458.0;
    let w = 2.0 * std::f64::consts::PI * frequency;
    let (er, sigma) = (permittivity(t), electric_conductivity(t));
    let loss = sigma / (w * EPS0 * er);
    let alpha = w / C * (er / 2.0 * ((1.0 + loss * loss).sqrt() - 1.0)).sqrt();
    2.0 * alpha
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comsol_liver_derived_constants() {
        let l = Tissue::LIVER;
        assert!((l.diffusivity() - 1.36e-7).abs() < 0.01e-7);
        assert!((l.perfusion_rate() - 3.43e-3).abs() < 0.01e-3);
        assert!((l.perfusion_length() * 1e3 - 6.30).abs() < 0.01);
    }

    #[test]
    fn dielectric_fit_matches_the_table() {
        // ablation-physics.md §2.2: (T, ε_r, σ, 1/e power depth mm).
        for (t, er, s, depth) in [(37.0, 47.9, 2.10, 8.9), (60.0, 41.9, 1.86, 9.4), (80.0, 27.3, 1.29, 10.9), (100.0, 10.9, 0.58, 15.5)] {
            assert!((permittivity(t) - er).abs() < 0.06, "{t}: {}", permittivity(t));
            assert!((electric_conductivity(t) - s).abs() < 0.006, "{t}: {}", electric_conductivity(t));
            let d = 1e3 / power_attenuation(t, 2.45e9);
            assert!((d - depth).abs() < 0.06, "{t}: depth {d}");
        }
    }
}
