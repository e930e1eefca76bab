//! faxgate's one configuration file (TOML): every section, one loader.
//!
//! Each section's settings are a serde struct owned by the crate that uses them (the
//! address rules by `fax-address`, the retry policy by `fax-queue`, ...), with defaults
//! for every key; this module only puts them together. The top level and every section
//! refuse keys they do not know, so a misspelt setting is an error instead of a silently
//! ignored line. `config/faxgate.example.toml` documents every key; a test loads every
//! file in `config/`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use fax_address::AddressConfig;
use fax_queue::RetryConfig;
use serde::Deserialize;

/// The whole configuration file. A section left out keeps its defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[store]`: where the job store and the blobs are.
    pub store: StoreConfig,
    /// `[retry]`: when a failed delivery is called again.
    pub retry: RetryConfig,
    /// `[scheduler]`: leases and the worker's pace.
    pub scheduler: SchedulerConfig,
    /// `[[line]]`: the lines faxes go out on, each with its own concurrency limit.
    #[serde(rename = "line")]
    pub lines: Vec<LineConfig>,
    /// `[address]`: the Subject grammar, dial plan, fax IDs and destination policy.
    pub address: AddressConfig,
    /// `[intake]`: which mail is a fax request, from whom, and what becomes of problems.
    pub intake: mail_message::IntakeConfig,
    /// `[smtpd]`: faxgate's own SMTP intake listener.
    pub smtpd: mail_net::smtpd::SmtpdConfig,
    /// `[mailbox]`: the POP3 or IMAP account fax requests are fetched from.
    pub mailbox: mail_net::MailboxConfig,
    /// `[smtp]`: the server receipts and notifications are sent through.
    pub smtp: mail_net::SmtpConfig,
    /// `[render]`: how documents become fax pages, and the limits on converting them.
    pub render: fax_render::RenderConfig,
    /// `[admin]`: `faxgate serve`'s status and metrics endpoint.
    pub admin: crate::serve::AdminConfig,
    /// `[serve]`: `faxgate serve`'s shutdown grace and receipt pace.
    pub serve: crate::serve::ServeConfig,
}

/// The `[store]` section.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// The data directory: the SQLite database and the blobs.
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL or SQLite URL replacing the data directory's database.
    pub database_url: Option<String>,
}

/// The `[scheduler]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    /// How long a worker's claim holds without renewal, in seconds.
    pub lease_seconds: u64,
}

impl Default for SchedulerConfig {
    fn default() -> SchedulerConfig {
        SchedulerConfig { lease_seconds: 60 }
    }
}

/// What carries a line's calls.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineKind {
    /// T.38 (UDPTL over UDP) straight to one far end.
    #[default]
    T38,
    /// faxgate's own answering fax terminal on loopback: each call is a real T.30 call
    /// over T.38 to it, and what it receives is filed under the data directory
    /// (`virtual/<line>/`). A fax machine in a box, for demos and trials.
    Virtual,
}

/// How many times faster than a phone line a virtual line's calls run unless
/// `realtime` is set: both ends are faxgate's, so every timer and the modem pacing
/// scale together.
pub const VIRTUAL_SPEED: u32 = 20;

/// How the training check crosses a T.38 network (T38FaxRateManagement).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TcfConfig {
    /// transferredTCF: the TCF travels as data.
    #[default]
    Transferred,
    /// localTCF: it is not sent; both ends must agree.
    Local,
}

/// One `[[line]]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineConfig {
    /// The line's name, unique, for logs and the attempt records.
    pub name: String,
    /// What carries the calls.
    #[serde(default)]
    pub kind: LineKind,
    /// How many calls the line carries at once.
    #[serde(default = "one")]
    pub channels: u32,
    /// T.38: the far end (gateway) every call goes to, HOST:PORT.
    pub remote: Option<String>,
    /// T.38: the local address calls are sent from (port 0: any free port).
    #[serde(default = "any_local")]
    pub local_bind: String,
    /// Use error correction mode when the far end has it.
    #[serde(default = "yes")]
    pub ecm: bool,
    /// Our station identifier (up to 20 characters, usually the fax number).
    #[serde(default)]
    pub ident: String,
    /// The highest bit rate offered: 14400 (V.17), 9600 (V.29), 4800 (V.27 ter) or 2400.
    #[serde(default = "max_rate")]
    pub max_rate: u32,
    /// T.38 version of the IFP packets (0 to 3); both ends must agree.
    #[serde(default)]
    pub t38_version: u8,
    /// UDPTL redundancy: how many earlier packets each datagram repeats.
    #[serde(default = "redundancy")]
    pub redundancy: usize,
    /// How the training check crosses the network.
    #[serde(default)]
    pub tcf: TcfConfig,
    /// Give up on a call after this many seconds.
    #[serde(default = "call_timeout")]
    pub call_timeout_seconds: u64,
    /// Virtual lines: pace calls like a phone line instead of running them as fast as
    /// the terminals allow.
    #[serde(default)]
    pub realtime: bool,
}

fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}
fn any_local() -> String {
    "0.0.0.0:0".to_owned()
}
fn max_rate() -> u32 {
    14_400
}
fn redundancy() -> usize {
    3
}
fn call_timeout() -> u64 {
    300
}

impl LineConfig {
    /// The line of `faxgate serve` without a config file: one virtual line.
    pub fn default_virtual() -> LineConfig {
        LineConfig {
            name: "virtual".to_owned(),
            kind: LineKind::Virtual,
            channels: 1,
            remote: None,
            local_bind: "127.0.0.1:0".to_owned(),
            ecm: true,
            ident: "FAXGATE".to_owned(),
            max_rate: max_rate(),
            t38_version: 0,
            redundancy: redundancy(),
            tcf: TcfConfig::Transferred,
            call_timeout_seconds: call_timeout(),
            realtime: false,
        }
    }
}

impl Config {
    /// Parses a configuration file's text and checks what the sections' own types
    /// cannot (names unique, values in range).
    pub fn parse(text: &str) -> Result<Config> {
        let config: Config = toml::from_str(text)?;
        config.check()?;
        Ok(config)
    }

    /// Reads `path`, or gives the defaults without one.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Config::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    fn check(&self) -> Result<()> {
        self.mailbox.check()?;
        self.smtp.check()?;
        let lease = self.scheduler.lease_seconds;
        if !(3..=3600).contains(&lease) {
            bail!("[scheduler] lease_seconds must be between 3 and 3600");
        }
        if let Some(url) = &self.store.database_url
            && !url.is_empty()
            && !(url.starts_with("postgres:")
                || url.starts_with("postgresql:")
                || url.starts_with("sqlite:"))
        {
            bail!("[store] database_url must be a postgres:// or sqlite:// URL");
        }
        let mut names = std::collections::HashSet::new();
        for line in &self.lines {
            line.check()
                .with_context(|| format!("[[line]] {:?}", line.name))?;
            if !names.insert(line.name.as_str()) {
                bail!("[[line]] {:?} is named twice", line.name);
            }
        }
        Ok(())
    }
}

impl LineConfig {
    /// The call settings of `faxgate fax send --t38` that this line's calls use.
    pub fn call_options(&self) -> crate::fax_cmd::CallOptions {
        crate::fax_cmd::CallOptions {
            ecm: self.ecm,
            ident: self.ident.clone(),
            trace: false,
            timeout: std::time::Duration::from_secs(self.call_timeout_seconds),
            redundancy: self.redundancy,
            local_tcf: self.tcf == TcfConfig::Local,
            t38_version: self.t38_version,
            max_rate: self.max_rate,
            speed: match self.kind {
                LineKind::Virtual if !self.realtime => VIRTUAL_SPEED,
                _ => 1,
            },
        }
    }

    fn check(&self) -> Result<()> {
        if self.name.is_empty() {
            bail!("a line needs a name");
        }
        if self.channels == 0 {
            bail!("channels must be at least 1");
        }
        match self.kind {
            LineKind::T38 => {
                if self.remote.as_deref().is_none_or(str::is_empty) {
                    bail!("a T.38 line needs remote = \"HOST:PORT\"");
                }
            }
            LineKind::Virtual => {
                if self.remote.is_some() {
                    bail!("a virtual line calls its own terminal: remove remote");
                }
            }
        }
        // The top rates of the modems: a line is capped by leaving the faster ones out.
        if !matches!(self.max_rate, 2400 | 4800 | 9600 | 14_400) {
            bail!("max_rate must be 14400, 9600, 4800 or 2400");
        }
        if self.t38_version > 3 {
            bail!("t38_version must be 0 to 3");
        }
        if self.redundancy > 10 {
            bail!("redundancy must be 0 to 10");
        }
        if self.ident.chars().count() > 20 {
            bail!("ident is at most 20 characters");
        }
        if self.call_timeout_seconds == 0 {
            bail!("call_timeout_seconds must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
    }

    #[test]
    fn every_file_in_config_loads() {
        let mut loaded = 0;
        for entry in std::fs::read_dir(config_dir()).expect("config/") {
            let path = entry.expect("config/ entry").path();
            if path.extension().is_some_and(|ext| ext == "toml") {
                let config = Config::load(Some(&path))
                    .unwrap_or_else(|error| panic!("{}: {error:#}", path.display()));
                fax_address::AddressSettings::new(&config.address)
                    .unwrap_or_else(|error| panic!("{}: [address]: {error}", path.display()));
                config
                    .retry
                    .validate()
                    .unwrap_or_else(|error| panic!("{}: [retry]: {error}", path.display()));
                config
                    .smtpd
                    .session_config()
                    .unwrap_or_else(|error| panic!("{}: [smtpd]: {error}", path.display()));
                loaded += 1;
            }
        }
        assert!(loaded >= 1, "no config files found");
    }

    #[test]
    fn the_example_states_the_defaults() {
        let config =
            Config::load(Some(&config_dir().join("faxgate.example.toml"))).expect("example config");
        assert_eq!(config.retry, RetryConfig::default());
        assert_eq!(config.scheduler.lease_seconds, 60);
        assert_eq!(
            config.store.data_dir.as_deref(),
            Some(Path::new("/var/lib/faxgate"))
        );
        assert!(config.store.database_url.is_none());
        assert_eq!(config.smtpd, mail_net::smtpd::SmtpdConfig::default());
        assert_eq!(config.mailbox, mail_net::MailboxConfig::default());
        assert_eq!(config.smtp, mail_net::SmtpConfig::default());
        assert_eq!(config.render, fax_render::RenderConfig::default());
        assert_eq!(config.admin, crate::serve::AdminConfig::default());
        assert_eq!(config.serve, crate::serve::ServeConfig::default());
    }

    #[test]
    fn misspelt_settings_are_errors() {
        assert!(Config::parse("[retry]\nmax_dial = 3\n").is_err());
        assert!(Config::parse("[retyr]\n").is_err());
        assert!(Config::parse("[store]\ndatabase_url = \"mysql://x\"\n").is_err());
        assert!(Config::parse("[retry.busy]\nretry = true\ndelay = 5\n").is_err());
        assert!(Config::parse("[address]\nmax_recipient = 5\n").is_err());
        assert!(Config::parse("[[line]]\nname = \"a\"\nremote = \"h:1\"\necn = true\n").is_err());
        assert!(Config::parse("[address]\nmax_recipients = 5\n").is_ok());
    }

    #[test]
    fn lines_are_checked() {
        let line = "[[line]]\nname = \"trunk\"\nremote = \"127.0.0.1:4600\"\n";
        let config = Config::parse(line).expect("a minimal line");
        assert_eq!(config.lines.len(), 1);
        assert_eq!(config.lines[0].channels, 1);
        assert!(config.lines[0].ecm);
        assert!(
            Config::parse(&format!("{line}{line}")).is_err(),
            "same name twice"
        );
        assert!(
            Config::parse("[[line]]\nname = \"x\"\n").is_err(),
            "no remote"
        );
        assert!(Config::parse(&format!("{line}channels = 0\n")).is_err());
        assert!(Config::parse(&format!("{line}max_rate = 10000\n")).is_err());
        assert!(Config::parse(&format!("{line}kind = \"isdn\"\n")).is_err());
        let virtual_line = "[[line]]\nname = \"box\"\nkind = \"virtual\"\n";
        let config = Config::parse(virtual_line).expect("a virtual line needs no remote");
        assert_eq!(config.lines[0].call_options().speed, VIRTUAL_SPEED);
        let paced = Config::parse(&format!("{virtual_line}realtime = true\n")).expect("paced");
        assert_eq!(paced.lines[0].call_options().speed, 1);
        assert!(
            Config::parse(&format!("{virtual_line}remote = \"h:1\"\n")).is_err(),
            "a virtual line calls its own terminal"
        );
    }
}
