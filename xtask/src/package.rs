//! `cargo xtask package`: the modules as OCI images, without a Docker daemon.
//!
//! For each filter, `<out>/<name>/` is an OCI image layout holding the compat
//! image (tag `<tag>`) and the wasm artifact (tag `<tag>-artifact`), see
//! [`oci`]. `--push` copies both to a registry with skopeo;
//! `--update-istio` writes the tag and the compat digests into `istio/*.yaml`.
//! `<out>/images.json` lists every digest for scripts and tests.

mod istio;
pub mod oci;
pub mod pull;
mod push;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde_json::json;

use crate::build::{self, Profile};
use crate::workspace::Workspace;

pub const USAGE: &str = "  package [--out DIR] [--tag TAG] [--push REGISTRY/PREFIX] [--insecure] [--no-build] [--update-istio]
                               OCI images of every module (compat image tagged TAG, wasm artifact
                               TAG-artifact; TAG defaults to the workspace version) as image layouts
                               in DIR/<name> (default dist/oci); --push copies them to
                               REGISTRY/PREFIX/<name> with skopeo (plain HTTP for 127.0.0.1 and
                               localhost, or with --insecure); --update-istio writes the digests
                               into istio/*.yaml (and the module sha256 into
                               envoy/remote-headers.yaml); --no-build packages dist/ as it is
";

struct Options {
    out: Option<PathBuf>,
    tag: Option<String>,
    push: Option<String>,
    insecure: bool,
    build: bool,
    update_istio: bool,
}

fn parse(args: &[OsString]) -> Result<Options> {
    let mut opts = Options {
        out: None,
        tag: None,
        push: None,
        insecure: false,
        build: true,
        update_istio: false,
    };
    let mut args = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .filter(|v| !v.starts_with("--"))
                .with_context(|| format!("{flag} needs a value"))
        };
        match arg.as_str() {
            "--out" => opts.out = Some(PathBuf::from(value("--out")?)),
            "--tag" => opts.tag = Some(value("--tag")?),
            "--push" => opts.push = Some(value("--push")?.trim_end_matches('/').to_string()),
            "--insecure" => opts.insecure = true,
            "--no-build" => opts.build = false,
            "--update-istio" => opts.update_istio = true,
            other => bail!("unexpected argument `{other}`\n\nusage: cargo xtask\n{USAGE}"),
        }
    }
    Ok(opts)
}

/// The workspace version (`[workspace.package] version` in Cargo.toml).
fn workspace_version(ws: &Workspace) -> Result<String> {
    let text = fs::read_to_string(ws.root.join("Cargo.toml"))?;
    let section = text
        .split("[workspace.package]")
        .nth(1)
        .context("Cargo.toml has no [workspace.package]")?;
    section
        .lines()
        .take_while(|l| !l.starts_with('['))
        .find_map(|l| {
            let v = l.trim().strip_prefix("version")?.trim().strip_prefix('=')?;
            Some(v.trim().trim_matches('"').to_string())
        })
        .context("no version in [workspace.package]")
}

pub fn run(ws: &Workspace, args: &[OsString]) -> Result<()> {
    let opts = parse(args)?;
    if opts.build {
        build::run(ws, Profile::Release)?;
    }
    let tag = match opts.tag {
        Some(tag) => tag,
        None => workspace_version(ws)?,
    };
    let artifact_tag = format!("{tag}-artifact");
    let out = opts.out.unwrap_or_else(|| ws.dist().join("oci"));
    let skopeo = match &opts.push {
        Some(_) => Some(push::skopeo()?),
        None => None,
    };

    let mut summary = BTreeMap::new();
    let mut compat_digests = BTreeMap::new();
    let mut module_digests = BTreeMap::new();
    for filter in &ws.filters {
        let path = ws.dist().join(format!("{}.wasm", filter.name));
        let module = fs::read(&path)
            .with_context(|| format!("reading {} (run `cargo xtask build`)", path.display()))?;
        let layout = out.join(&filter.name);
        let images = oci::write_layout(&layout, &module, &tag, &artifact_tag)?;
        println!("{}: module {}", filter.name, images.module);
        println!(
            "  oci:{}:{tag}  compat   {}",
            layout.display(),
            images.compat
        );
        println!(
            "  oci:{}:{artifact_tag}  artifact {}",
            layout.display(),
            images.artifact
        );
        if let (Some(skopeo), Some(prefix)) = (&skopeo, &opts.push) {
            let dest = format!("{prefix}/{}", filter.name);
            for t in [&tag, &artifact_tag] {
                push::copy(skopeo, &layout, t, &dest, opts.insecure)
                    .with_context(|| format!("pushing {dest}:{t}"))?;
                println!("  pushed {dest}:{t}");
            }
        }
        compat_digests.insert(filter.name.clone(), images.compat.clone());
        module_digests.insert(filter.name.clone(), images.module.clone());
        summary.insert(
            filter.name.clone(),
            json!({
                "layout": layout,
                "module": images.module,
                "tag": tag,
                "compat": images.compat,
                "artifact_tag": artifact_tag,
                "artifact": images.artifact,
            }),
        );
    }
    let summary_path = out.join("images.json");
    fs::write(&summary_path, serde_json::to_vec_pretty(&summary)?)
        .with_context(|| format!("writing {}", summary_path.display()))?;

    if opts.update_istio {
        let remote = [ws.root.join("envoy/remote-headers.yaml")];
        let changed = istio::update(
            &ws.root.join("istio"),
            &remote,
            &tag,
            &compat_digests,
            &module_digests,
        )?;
        if changed.is_empty() {
            eprintln!("istio/*.yaml already carry these digests");
        }
        for file in changed {
            eprintln!("updated {file}");
        }
    }
    Ok(())
}
