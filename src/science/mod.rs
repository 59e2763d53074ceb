//! The papers' own models, built on the layers below:
//!
//! * [`teacher_student`]: multi-scale teacher–student dynamics and epoch-wise double descent
//!   (Pezeshki, Mitra, Bengio, Lajoie, ICML 2022, arXiv 2112.03215);
//! * [`epoch_wise`]: epoch-wise double descent of a trained network over (weight decay, epoch),
//!   the protocol of the same paper's ResNet-18 heat map (its Fig. 2 a, b);
//! * [`least_squares`]: double descent of minimum-norm least squares over training-set sizes,
//!   its three ablations and adversarial data (Schaeffer et al., *Double Descent Demystified*,
//!   arXiv 2303.14151);
//! * [`polynomial_regression`]: the same paper's degree sweep on Legendre features;
//! * [`phase_diagram`]: jamming, feature and lazy training of fully connected networks, the
//!   analyses of Geiger, Petrini & Wyart's phase diagram (arXiv 2012.15110);
//! * [`width_sweep`]: model-wise double descent of trained one-hidden-layer ReLU networks on
//!   MNIST (the deep-learning-theory tutorial's second notebook);
//! * [`llc_of_networks`]: the local learning coefficient of those trained networks, across the
//!   interpolation threshold and across the jamming transition (new here).

pub mod epoch_wise;
pub mod least_squares;
pub mod llc_of_networks;
pub mod phase_diagram;
pub mod polynomial_regression;
pub mod teacher_student;
pub mod width_sweep;
