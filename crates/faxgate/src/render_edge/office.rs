//! Office documents to PDF with LibreOffice, either started afresh for each document
//! (`soffice --convert-to pdf`, about 2 s each) or kept running between documents
//! (about 0.1-0.2 s each once started), driven through its UNO API by a small Python
//! helper (`office_helper.py`, needs Debian's python3-uno).
//!
//! A warm instance converts one document at a time, has a profile directory of its own,
//! runs under the same memory limit as a cold one, and is killed with its whole process
//! group when a conversion runs past the time limit or LibreOffice fails; the next
//! document then starts a fresh one. It is also replaced after
//! [`CONVERSIONS_PER_INSTANCE`] documents, so that whatever LibreOffice leaks or caches
//! from one sender's documents does not build up.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::{Safety, ScratchDir, on_path, run_limited};

/// The helper, run with `python3 -I -c`.
const HELPER: &str = include_str!("office_helper.py");

/// Documents one warm instance converts before it is replaced.
pub(crate) const CONVERSIONS_PER_INSTANCE: u32 = 100;

const INSTALL_HINT: &str = "install the Debian packages libreoffice-core-nogui with \
    libreoffice-writer-nogui (documents), libreoffice-calc-nogui (spreadsheets) and \
    libreoffice-impress-nogui (presentations)";

/// How LibreOffice is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OfficeMode {
    /// Keep one instance running between documents when python3-uno is installed,
    /// else start one per document (with a warning).
    Auto,
    /// Keep one instance running between documents; fail if that cannot be done.
    Warm,
    /// Start LibreOffice afresh for every document.
    Cold,
}

/// Converts office documents to PDF, one at a time.
pub(crate) struct Office {
    soffice: Result<PathBuf, String>,
    mode: OfficeMode,
    instance: Option<Instance>,
}

impl Office {
    /// `soffice` is the program to run (default: `soffice` on PATH). Nothing is started
    /// until the first document arrives.
    pub(crate) fn new(soffice: Option<&Path>, mode: OfficeMode) -> Office {
        let soffice = match soffice {
            Some(path) if path.is_file() => Ok(path.to_path_buf()),
            Some(path) => Err(format!(
                "LibreOffice not found at {}; office files need it: {INSTALL_HINT}",
                path.display()
            )),
            None => on_path("soffice")
                .or_else(|| on_path("libreoffice"))
                .ok_or_else(|| {
                    format!(
                        "LibreOffice (soffice) is not installed; office files need it: \
                         {INSTALL_HINT}"
                    )
                }),
        };
        Office {
            soffice,
            mode,
            instance: None,
        }
    }

    /// Converts `document` to a PDF in `out_dir` and returns the PDF's path.
    pub(crate) fn convert(
        &mut self,
        document: &Path,
        out_dir: &Path,
        safety: &Safety,
    ) -> Result<PathBuf> {
        let soffice = self.soffice.clone().map_err(anyhow::Error::msg)?;
        self.convert_once(&soffice, document, out_dir, safety, false)
    }

    fn convert_once(
        &mut self,
        soffice: &Path,
        document: &Path,
        out_dir: &Path,
        safety: &Safety,
        retried: bool,
    ) -> Result<PathBuf> {
        if self.mode == OfficeMode::Cold {
            return cold(soffice, document, out_dir, safety);
        }
        if let Some(instance) = &mut self.instance
            && (instance.exited() || instance.conversions >= CONVERSIONS_PER_INSTANCE)
        {
            self.instance = None;
        }
        if self.instance.is_none() {
            match Instance::start(soffice, safety) {
                Ok(instance) => self.instance = Some(instance),
                Err(Start::NoUno(error)) if self.mode == OfficeMode::Auto => {
                    eprintln!(
                        "faxgate: warning: cannot keep LibreOffice running ({error:#}); \
                         starting it for each document instead (install python3-uno)"
                    );
                    self.mode = OfficeMode::Cold;
                    return cold(soffice, document, out_dir, safety);
                }
                Err(Start::NoUno(error) | Start::Failed(error)) => return Err(error),
            }
        }
        let instance = self
            .instance
            .as_mut()
            .context("instance was just started")?;
        let pdf = out_dir.join("document.pdf");
        match instance.convert(document, &pdf, safety) {
            Ok(()) => Ok(pdf),
            Err(Failure::Document(reason)) => {
                bail!("LibreOffice could not convert the document: {reason}")
            }
            Err(Failure::Gone) if !retried => {
                // It died while idle (killed, or crashed on the previous document's
                // leftovers): this document was not tried yet.
                self.instance = None;
                self.convert_once(soffice, document, out_dir, safety, true)
            }
            Err(Failure::Gone) => {
                self.instance = None;
                bail!("LibreOffice stopped twice before it could take the document")
            }
            Err(Failure::Instance(error)) => {
                // Whatever state it is in, it is not trusted with the next document.
                self.instance = None;
                Err(error)
            }
        }
    }
}

/// Converts with a LibreOffice started for this document only.
fn cold(soffice: &Path, document: &Path, out_dir: &Path, safety: &Safety) -> Result<PathBuf> {
    let scratch = ScratchDir::new("office")?;
    let profile = scratch.path().join("profile");
    let args: Vec<std::ffi::OsString> = vec![
        format!("-env:UserInstallation=file://{}", profile.display()).into(),
        "--headless".into(),
        "--norestore".into(),
        "--nolockcheck".into(),
        "--convert-to".into(),
        "pdf".into(),
        "--outdir".into(),
        out_dir.into(),
        document.into(),
    ];
    let finished = run_limited(soffice, &args, scratch.path(), safety)?;
    let pdf = std::fs::read_dir(out_dir).ok().and_then(|entries| {
        entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|e| e == "pdf"))
    });
    match pdf {
        Some(pdf) => Ok(pdf),
        None => bail!(
            "LibreOffice could not convert the document{}: {}",
            if finished.success { "" } else { " (it failed)" },
            finished
                .stderr
                .lines()
                .take(3)
                .collect::<Vec<_>>()
                .join(" / ")
        ),
    }
}

/// Why a warm conversion failed.
enum Failure {
    /// LibreOffice refused the document; the instance is fine.
    Document(String),
    /// The instance failed, hung or died; it must be replaced.
    Instance(anyhow::Error),
    /// The instance had died before the document was handed over.
    Gone,
}

/// Why a warm instance did not start.
enum Start {
    /// Python or its UNO bridge (python3-uno) is missing: starting LibreOffice per
    /// document still works.
    NoUno(anyhow::Error),
    /// LibreOffice did not start or the helper failed.
    Failed(anyhow::Error),
}

/// A running helper and the LibreOffice it drives, in a process group of their own.
struct Instance {
    child: Child,
    stdin: Option<ChildStdin>,
    replies: mpsc::Receiver<String>,
    conversions: u32,
    // Holds the profile and the helper's log; removed after the processes are gone.
    scratch: ScratchDir,
    /// The name of the pipe LibreOffice listens on.
    pipe_name: String,
}

impl Instance {
    fn start(soffice: &Path, safety: &Safety) -> Result<Instance, Start> {
        Instance::try_start(soffice, safety).map_err(|error| {
            if format!("{error:#}").contains("import uno")
                || format!("{error:#}").contains("python3 is not")
            {
                Start::NoUno(error)
            } else {
                Start::Failed(error)
            }
        })
    }

    fn try_start(soffice: &Path, safety: &Safety) -> Result<Instance> {
        use std::os::unix::process::CommandExt;
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let python = ["/usr/bin/python3"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .or_else(|| on_path("python3"))
            .context("python3 is not installed")?;
        let scratch = ScratchDir::new("office-warm")?;
        let pipe_name = format!("faxgate-{}-{n}", std::process::id());
        let profile = scratch.path().join("profile");
        let log = std::fs::File::create(scratch.path().join("helper.log"))
            .context("creating the office helper's log")?;
        // Starting counts against the time limit of the first document, as starting
        // LibreOffice does on the cold path.
        let startup = safety.timeout.as_secs().max(1);
        let mut child = Command::new("prlimit")
            .arg(format!("--as={}", safety.max_memory))
            .arg("--")
            .arg(&python)
            .arg("-I")
            .arg("-c")
            .arg(HELPER)
            .arg(soffice)
            .arg(format!("file://{}", profile.display()))
            .arg(&pipe_name)
            .arg(startup.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .process_group(0)
            .spawn()
            .context("starting the office helper (python3 under prlimit)")?;
        let stdout = child.stdout.take().context("helper stdout")?;
        let (sender, replies) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut instance = Instance {
            stdin: child.stdin.take(),
            child,
            replies,
            conversions: 0,
            scratch,
            pipe_name,
        };
        match instance.reply(Duration::from_secs(startup + 1)) {
            Ok(reply) if reply.get("ready").and_then(|r| r.as_bool()) == Some(true) => Ok(instance),
            Ok(reply) => bail!(
                "{}",
                reply
                    .get("error")
                    .and_then(|e| e.as_str())
                    .unwrap_or("the office helper did not start")
            ),
            Err(Failure::Document(reason)) => bail!("{reason}"),
            Err(Failure::Gone) => bail!("the office helper stopped at start"),
            Err(Failure::Instance(error)) => {
                let log = std::fs::read_to_string(instance.scratch.path().join("helper.log"))
                    .unwrap_or_default();
                Err(error.context(format!(
                    "starting LibreOffice{}",
                    log.lines()
                        .last()
                        .map(|l| format!(" ({l})"))
                        .unwrap_or_default()
                )))
            }
        }
    }

    /// Whether the helper has gone.
    fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    fn convert(&mut self, document: &Path, pdf: &Path, safety: &Safety) -> Result<(), Failure> {
        self.conversions += 1;
        let document = std::path::absolute(document)
            .map_err(|e| Failure::Document(format!("bad path: {e}")))?;
        let pdf =
            std::path::absolute(pdf).map_err(|e| Failure::Document(format!("bad path: {e}")))?;
        let request = serde_json::json!({ "in": document, "out": pdf }).to_string() + "\n";
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| Failure::Instance(anyhow::anyhow!("office helper closed")))?;
        stdin
            .write_all(request.as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(|_| Failure::Gone)?;
        let reply = self.reply(safety.timeout)?;
        if reply.get("ok").and_then(|r| r.as_bool()) == Some(true) {
            return Ok(());
        }
        let error = reply
            .get("error")
            .and_then(|e| e.as_str())
            .unwrap_or("no reason given")
            .to_string();
        if reply.get("retry").and_then(|f| f.as_bool()) == Some(true) {
            return Err(Failure::Gone);
        }
        if reply.get("fatal").and_then(|f| f.as_bool()) == Some(false) {
            Err(Failure::Document(error))
        } else {
            Err(Failure::Instance(anyhow::anyhow!(
                "LibreOffice failed on the document: {error}"
            )))
        }
    }

    /// The helper's next reply, waiting at most `timeout`.
    fn reply(&mut self, timeout: Duration) -> Result<serde_json::Value, Failure> {
        match self.replies.recv_timeout(timeout) {
            Ok(line) => serde_json::from_str(&line).map_err(|e| {
                Failure::Instance(anyhow::anyhow!("office helper said {line:?}: {e}"))
            }),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                self.kill();
                Err(Failure::Instance(anyhow::anyhow!(
                    "LibreOffice took longer than {} s and was stopped",
                    timeout.as_secs()
                )))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(Failure::Instance(anyhow::anyhow!(
                "LibreOffice stopped unexpectedly (crashed or killed)"
            ))),
        }
    }

    /// Kills the helper and LibreOffice: the whole process group, so that no
    /// grandchild is left running.
    fn kill(&mut self) {
        if self.stdin.is_none() {
            return;
        }
        self.stdin = None;
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg("--")
            .arg(format!("-{}", self.child.id()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A killed LibreOffice leaves its pipe's socket file (OSL_PIPE_<uid>_<name>)
        // in the temporary directory.
        let suffix = format!("_{}", self.pipe_name);
        for dir in [std::env::temp_dir(), PathBuf::from("/tmp")] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with("OSL_PIPE_") && name.ends_with(&suffix) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safety(seconds: u64) -> Safety {
        Safety {
            timeout: Duration::from_secs(seconds),
            max_memory: 4 << 30,
            limits: fax_render::Limits::default(),
            pdf: super::super::PdfRenderer::Auto,
        }
    }

    fn sample(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/docs")
            .join(name)
    }

    /// Whether `done` becomes true within a few seconds: for the kernel and the init
    /// process to finish off killed processes, not a measure of speed.
    fn eventually(mut done: impl FnMut() -> bool) -> bool {
        (0..200).any(|_| {
            let now = done();
            if !now {
                std::thread::sleep(Duration::from_millis(25));
            }
            now
        })
    }

    /// Members of a process group named `name`.
    fn group_members(group: u32, name: &str) -> Vec<String> {
        let out = Command::new("pgrep")
            .args(["-g", &group.to_string(), "-x", name])
            .output()
            .expect("runs pgrep");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn warm_instance_is_replaced_after_libreoffice_dies() {
        let mut office = Office::new(None, OfficeMode::Warm);
        let out = ScratchDir::new("office-test").expect("scratch");
        let pdf = office
            .convert(&sample("sample.rtf"), out.path(), &safety(120))
            .expect("converts");
        assert!(std::fs::read(&pdf).expect("PDF").starts_with(b"%PDF-"));
        let group = office.instance.as_ref().expect("kept warm").child.id();
        let killed = group_members(group, "soffice.bin");
        assert_eq!(killed.len(), 1, "one LibreOffice in the instance's group");
        let status = Command::new("kill")
            .arg("-KILL")
            .args(&killed)
            .status()
            .expect("kill");
        assert!(status.success());

        // The next document is not lost: a new instance takes it.
        std::fs::remove_file(&pdf).expect("removes");
        let pdf = office
            .convert(&sample("sample.xlsx"), out.path(), &safety(120))
            .expect("converts after a restart");
        assert!(std::fs::read(&pdf).expect("PDF").starts_with(b"%PDF-"));
        let new_group = office.instance.as_ref().expect("kept warm").child.id();
        assert_ne!(group, new_group);
        drop(office);
        let pipes = std::fs::read_dir("/tmp")
            .expect("lists /tmp")
            .flatten()
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with("OSL_PIPE_")
                    && name.contains(&format!("_faxgate-{}-", std::process::id()))
            })
            .count();
        assert_eq!(pipes, 0, "no pipe socket left behind");
        // Killed at once; reaping the orphan can take the init process a moment.
        assert!(
            eventually(|| group_members(new_group, "soffice.bin").is_empty()),
            "dropping the converter ends LibreOffice"
        );
    }

    #[test]
    fn libreoffice_that_never_answers_is_killed_at_the_time_limit() {
        let scratch = ScratchDir::new("office-hang").expect("scratch");
        let hang = scratch.path().join("soffice");
        let pid_file = scratch.path().join("pid");
        std::fs::write(
            &hang,
            format!(
                "#!/bin/sh\necho $$ > {}\nexec sleep 60\n",
                pid_file.display()
            ),
        )
        .expect("writes");
        let status = Command::new("chmod")
            .arg("+x")
            .arg(&hang)
            .status()
            .expect("chmod");
        assert!(status.success());
        let mut office = Office::new(Some(&hang), OfficeMode::Warm);
        let error = office
            .convert(&sample("sample.rtf"), scratch.path(), &safety(1))
            .expect_err("times out");
        assert!(
            format!("{error:#}").contains("longer than 1 s"),
            "{error:#}"
        );
        assert!(office.instance.is_none());
        // The stand-in was killed with its group, not left sleeping.
        let pid = std::fs::read_to_string(&pid_file).expect("the stand-in ran");
        let stat = Path::new("/proc").join(pid.trim()).join("stat");
        let gone = eventually(|| {
            !std::fs::read_to_string(&stat)
                .is_ok_and(|s| !s.contains(") Z ") && !s.contains(") X "))
        });
        assert!(gone, "LibreOffice's stand-in still runs");
    }
}
