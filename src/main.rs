//! The `refguard` binary: a thin shell over the library.

fn main() -> std::process::ExitCode {
    refguard::cli::main()
}
