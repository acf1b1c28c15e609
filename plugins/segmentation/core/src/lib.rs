//! Liver, tumour and ablation-zone segmentation on CT with a 2.5D U-Net in Candle (CPU by
//! default, CUDA with the `cuda` feature). Plain Rust, no FFI: the segmentation plugin
//! wraps it, and the margin plugin reuses it for its masks.
//!
//! - `net`: the network and its architecture file; `kernels`: CPU kernels (direct 3x3
//!   conv with its backward pass, fused inference steps); `model`: loading pinned weights;
//! - `preprocess`: the working grid (resampling, HU window) shared by training and
//!   inference; `infer`: tiled, blended inference with progress and cancellation;
//! - `lesions`: clean-up and the lesion measurements; `logic`: the whole run and its
//!   scene changes;
//! - `train` and `eval`: training on phantom seeds and the held-out evaluation
//!   (`isotherm segmentation train|eval|bench`).

pub mod eval;
pub mod infer;
pub mod kernels;
pub mod lesions;
pub mod logic;
pub mod model;
pub mod net;
pub mod preprocess;
pub mod train;
