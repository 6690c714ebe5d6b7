pub mod records {}
