//! CPU kernels as Candle custom ops, where Candle 0.11's general CPU ops leave most of
//! the time on the table for this network: a direct 3x3 convolution (differentiable, so
//! training uses it too; inference variants also read through a 2x upsampling, a 2x2
//! max pooling or a concatenation) and a fused GroupNorm + ReLU for inference. Each
//! returns `None` when it does not apply (another device, dtype or shape), and the
//! caller falls back to Candle. All are tested against Candle's own ops.

pub mod conv;
pub mod norm;

pub use conv::{conv3x3, conv3x3_cat, conv3x3_pooled, conv3x3_upsampled};
pub use norm::group_norm_relu;
