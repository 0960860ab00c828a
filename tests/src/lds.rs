//! A listener served by LDS from the filesystem, as operators reload Envoy
//! without a control plane: the bootstrap's `dynamic_resources.lds_config`
//! names a file (`path_config_source`) and a directory to watch
//! (`watched_directory`); Envoy reloads the file when an entry is moved into
//! that directory. Each update is written to a temporary file in the same
//! directory, then renamed over the watched one, so Envoy never reads a
//! half-written file (Envoy's docs: "in general only moves are atomic").

use crate::bootstrap::Bootstrap;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

static N: AtomicU64 = AtomicU64::new(0);

const LISTENER_TYPE: &str = "type.googleapis.com/envoy.config.listener.v3.Listener";

/// The watched directory and its `lds.json`; removed on drop.
pub struct LdsFile {
    dir: PathBuf,
    version: u64,
}

impl LdsFile {
    /// A fresh directory holding `listener` (see [`listener`]) as version 1.
    pub fn new(listener: &Value) -> LdsFile {
        let dir = std::env::temp_dir().join(format!(
            "tollgate-lds-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut file = LdsFile { dir, version: 0 };
        file.replace(listener);
        file
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("lds.json")
    }

    /// Replaces the served listener: writes a DiscoveryResponse with the next
    /// version next to `lds.json`, then renames it over `lds.json`.
    pub fn replace(&mut self, listener: &Value) {
        self.version += 1;
        let mut resource = listener.clone();
        resource["@type"] = Value::from(LISTENER_TYPE);
        let response = json!({
            "version_info": format!("v{}", self.version),
            "resources": [resource]
        });
        let tmp = self.dir.join(format!("lds.json.{}.tmp", self.version));
        std::fs::write(&tmp, response.to_string())
            .unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
        std::fs::rename(&tmp, self.path()).unwrap_or_else(|e| panic!("rename to lds.json: {e}"));
    }

    /// `b`'s bootstrap with its listener moved out to this file: no static
    /// listener, `dynamic_resources.lds_config` reading `lds.json` and
    /// watching the directory. The clusters stay static.
    pub fn bootstrap(&self, b: &Bootstrap) -> Value {
        let mut boot = b.to_json();
        if let Some(s) = boot["static_resources"].as_object_mut() {
            s.remove("listeners");
        }
        boot["node"] = json!({"id": "tollgate-test", "cluster": "tollgate-test"});
        boot["dynamic_resources"] = json!({"lds_config": {
            "resource_api_version": "V3",
            "path_config_source": {
                "path": self.path().display().to_string(),
                "watched_directory": {"path": self.dir.display().to_string()}
            }
        }});
        boot
    }
}

impl Drop for LdsFile {
    fn drop(&mut self) {
        if std::env::var_os("TOLLGATE_KEEP_LOGS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The one listener of a generated bootstrap (named `main`), to serve by LDS.
pub fn listener(b: &Bootstrap) -> Value {
    b.to_json()["static_resources"]["listeners"][0].clone()
}
