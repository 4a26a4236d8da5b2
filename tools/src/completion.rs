//! Shell completions generated from the programs' clap definitions.
//!
//! Each program prints its completion script for bash, zsh or fish when
//! the environment variable [`ENV`] names the shell: `make completions`
//! runs every built program that way and writes the scripts into
//! `target/completions/`, which `make install` installs. The variable is
//! read before anything else (before fencectl's fence-agent mode and
//! prkeys' sg_persist mode), so the script always comes from the same
//! `clap::Command` that parses the program's command line; no option is
//! added to any program.

use std::io::Write;

use clap_complete::Shell;

/// The environment variable that asks for a completion script.
pub const ENV: &str = "FENCEKIT_COMPLETION";

/// The shells a script can be made for, by the names [`ENV`] takes.
pub const SHELLS: [&str; 3] = ["bash", "zsh", "fish"];

/// Parses a shell name of [`SHELLS`].
pub fn shell(name: &str) -> Option<Shell> {
    match name {
        "bash" => Some(Shell::Bash),
        "zsh" => Some(Shell::Zsh),
        "fish" => Some(Shell::Fish),
        _ => None,
    }
}

/// Writes the completion script of `cmd` for `shell` into `out`.
pub fn write(shell: Shell, cmd: &mut clap::Command, out: &mut dyn Write) {
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, cmd, name, out);
}

/// When [`ENV`] is set, prints `C`'s completion script for the shell it
/// names and returns the exit status (0, or 1 for a shell that is not one
/// of [`SHELLS`]); otherwise returns `None` and the program goes on.
pub fn requested<C: clap::CommandFactory>() -> Option<u8> {
    let want = std::env::var_os(ENV)?;
    let want = want.to_string_lossy();
    match shell(&want) {
        Some(sh) => {
            let mut out = std::io::stdout().lock();
            write(sh, &mut C::command(), &mut out);
            Some(match out.flush() {
                Ok(()) => crate::exit::OK,
                Err(_) => crate::exit::DEVICE_ERROR,
            })
        }
        None => {
            eprintln!(
                "{ENV}={want:?}: not a shell completions are made for ({})",
                SHELLS.join(", ")
            );
            Some(crate::exit::USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    #[command(name = "demo")]
    struct Demo {
        /// An option.
        #[arg(long)]
        json: bool,
    }

    #[test]
    fn every_shell_gets_a_script_naming_the_program_and_its_options() {
        for name in SHELLS {
            let sh = shell(name).unwrap();
            let mut buf = Vec::new();
            write(sh, &mut <Demo as clap::CommandFactory>::command(), &mut buf);
            let s = String::from_utf8(buf).unwrap();
            assert!(s.contains("demo"), "{name}: {s}");
            assert!(s.contains("json"), "{name}: {s}");
        }
        assert!(shell("tcsh").is_none());
    }
}
