//! The `fieldbook` command line: `fieldbook eval` today; the relay (`serve`) and the admin
//! commands come with the relay issue.

fn main() {
    println!("fieldbook {}", fieldbook_core::VERSION);
}
