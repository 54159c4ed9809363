//! Calorimeter data.
