//! `tollgate`: checks Tollgate filter configurations with the filters' own
//! parsers, and migrates Envoy's native filters to Tollgate's wasm filters.

mod check;
mod docs;
mod find;
mod migrate;
mod module;
mod vm_env;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "tollgate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check filter configurations as the modules do at start. FILE is an
    /// Envoy bootstrap or resource file (YAML or JSON), an Istio WasmPlugin
    /// YAML (several documents allowed), or with --filter a filter's own
    /// JSON configuration. Prints one line per refused configuration and
    /// exits 1; exits 0 when every one loads.
    Check {
        /// Every FILE is this filter's own JSON configuration.
        #[arg(long, value_enum)]
        filter: Option<module::Module>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print ENVOY_CONFIG (a bootstrap or an HTTP connection manager, YAML
    /// or JSON) with Envoy's native header_mutation, api_key_auth,
    /// basic_auth, jwt_authn, ext_authz, local_ratelimit and ratelimit
    /// filters replaced by Tollgate's. What cannot be carried over is said
    /// on standard error.
    Migrate {
        /// One `tollgate` module (auth, then ratelimit, then headers)
        /// instead of a module per native filter.
        #[arg(long)]
        one_vm: bool,
        /// Where the generated filters load the modules from.
        #[arg(long, default_value = "dist")]
        module_dir: String,
        envoy_config: PathBuf,
    },
}

fn main() -> ExitCode {
    let ok = match Cli::parse().command {
        Command::Check { filter, files } => check::run(filter, &files),
        Command::Migrate {
            one_vm,
            module_dir,
            envoy_config,
        } => migrate::run(&envoy_config, &module_dir, one_vm),
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
