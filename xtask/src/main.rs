//! Project automation (filled below).
fn main() {}
