# Keeps one LibreOffice running and converts office documents to PDF through its UNO
# API, one at a time, for faxgate. Started by faxgate (render_edge/office.rs) as
#   python3 -I -c SCRIPT SOFFICE PROFILE_URL PIPE_NAME STARTUP_SECONDS
# in a process group of its own, so that faxgate can stop it and LibreOffice together
# with one signal to the group.
#
# Protocol, one JSON object per line: stdout first says {"ready": true} (or
# {"ok": false, "error": ...} and exits); then for each request on stdin
# {"in": PATH, "out": PATH} it answers {"ok": true} or {"ok": false, "error": ...,
# "fatal": BOOL, "retry": BOOL}. "fatal" means LibreOffice itself failed and the
# instance is gone; "retry" that it was gone before the document was tried.
# End of stdin ends LibreOffice and the helper.
import json
import os
import signal
import subprocess
import sys
import threading
import time


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def kill_group():
    # LibreOffice is in our process group: take it down with us.
    os.killpg(0, signal.SIGKILL)


def watch_parent(parent):
    # faxgate may die without closing our stdin (SIGKILL): never outlive it.
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            kill_group()


def main():
    soffice, profile_url, pipe_name, startup = sys.argv[1:5]
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    try:
        import uno
        from com.sun.star.beans import PropertyValue
        from com.sun.star.connection import NoConnectException
    except ImportError as e:
        reply({"ok": False, "error": "python3 cannot import uno (%s)" % e, "fatal": True})
        return
    office = subprocess.Popen(
        [
            soffice,
            "-env:UserInstallation=" + profile_url,
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nodefault",
            "--nolockcheck",
            "--accept=pipe,name=%s;urp;StarOffice.ComponentContext" % pipe_name,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    deadline = time.monotonic() + float(startup)
    while True:
        try:
            context = resolver.resolve(
                "uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe_name
            )
            break
        except NoConnectException:
            if office.poll() is not None:
                reply({"ok": False, "error": "LibreOffice exited at start (status %s)" % office.returncode, "fatal": True})
                return
            if time.monotonic() > deadline:
                reply({"ok": False, "error": "LibreOffice took longer than %s s to start and was stopped" % startup, "fatal": True})
                kill_group()
            time.sleep(0.05)
    desktop = context.ServiceManager.createInstanceWithContext(
        "com.sun.star.frame.Desktop", context
    )

    def prop(name, value):
        p = PropertyValue()
        p.Name = name
        p.Value = value
        return p

    load_props = (
        prop("Hidden", True),
        prop("ReadOnly", True),
        # Untrusted documents: no macros, no fetching of linked content.
        prop("MacroExecutionMode", 0),
        prop("UpdateDocMode", 0),
    )
    filters = (
        ("com.sun.star.text.TextDocument", "writer_pdf_Export"),
        ("com.sun.star.sheet.SpreadsheetDocument", "calc_pdf_Export"),
        ("com.sun.star.presentation.PresentationDocument", "impress_pdf_Export"),
        ("com.sun.star.drawing.DrawingDocument", "draw_pdf_Export"),
    )
    reply({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        try:
            # A cheap call first: LibreOffice may have died between documents, and then
            # this document is not to blame and can be tried again elsewhere.
            desktop.getCurrentComponent()
        except Exception as e:
            reply({"ok": False, "error": "LibreOffice had stopped (%s)" % type(e).__name__, "fatal": True, "retry": True})
            kill_group()
        document = None
        try:
            document = desktop.loadComponentFromURL(
                uno.systemPathToFileUrl(request["in"]), "_blank", 0, load_props
            )
            if document is None:
                reply({"ok": False, "error": "LibreOffice could not open the document", "fatal": False})
                continue
            # A file it cannot place in any format is opened as plain text: its bytes
            # would go out as pages of gibberish. Office files never are plain text.
            used = next((p.Value for p in document.getArgs() if p.Name == "FilterName"), "")
            if used.startswith("Text"):
                reply({"ok": False, "error": "LibreOffice does not recognise the file's format (it would print its bytes as plain text)", "fatal": False})
                continue
            name = next((f for s, f in filters if document.supportsService(s)), None)
            if name is None:
                reply({"ok": False, "error": "LibreOffice opened the document as a kind it cannot export to PDF", "fatal": False})
                continue
            document.storeToURL(
                uno.systemPathToFileUrl(request["out"]), (prop("FilterName", name),)
            )
            reply({"ok": True})
        except Exception as e:
            alive = office.poll() is None
            # An exception from a document is the document's fault; a dead bridge or
            # process is LibreOffice's.
            kind = type(e).__name__.rsplit(".", 1)[-1]
            fatal = not alive or kind in ("DisposedException", "RuntimeException")
            reply({"ok": False, "error": "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else ""), "fatal": fatal})
            if fatal:
                kill_group()
        finally:
            if document is not None:
                try:
                    document.close(True)
                except Exception:
                    pass
    try:
        desktop.terminate()
    except Exception:
        pass
    kill_group()


main()
