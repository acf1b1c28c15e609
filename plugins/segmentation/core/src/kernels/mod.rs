//! CPU kernels where Candle 0.11's general CPU ops leave most of the time on the table
//! for this network: a direct 3x3 convolution (a Candle custom op with a backward pass,
//! so training uses it too) and the whole inference pass on plain buffers (`pass`),
//! which reads through upsampling, pooling, concatenation and pending GroupNorms
//! without materialising them. Tested against Candle's own ops; the network falls back
//! to Candle where they do not apply (another device, dtype or shape).

pub mod conv;
pub mod norm;
pub mod pass;

pub use conv::conv3x3;
