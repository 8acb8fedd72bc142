//! The `refguard` binary: a thin shell over the library.

fn main() -> std::process::ExitCode {
    refguard::cli::main()
}

/// mimalloc: the policy of a large organisation is thousands of small allocations; the
/// system allocator spent a third of `policy lint`'s time in malloc, free and page faults.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
