//! The awsideman binary.

fn main() -> std::process::ExitCode {
    awsideman::main()
}
