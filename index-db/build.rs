// The migrations are embedded at compile time (refinery's `embed_migrations!`), which
// tracks the files it read but not the directory: without this, a new migration file
// would not rebuild the crate, and a warm build would run without it.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
