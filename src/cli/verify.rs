//! `handsup verify DIR`: checks a journal offline and prints the report.

use crate::config::Config;

pub fn verify(dir: &std::path::Path) -> std::process::ExitCode {
    if !dir.is_dir() {
        eprintln!("handsup verify: {} is not a directory", dir.display());
        return std::process::ExitCode::from(2);
    }
    match crate::store::journal::verify(dir, &Config::defaults().limits()) {
        Ok(v) => {
            print!("{}", v.report);
            if v.sound {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("handsup verify: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
