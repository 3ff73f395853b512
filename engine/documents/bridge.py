"""The UNO side of one warm LibreOffice instance; run by the Python that ships LibreOffice's ``uno`` module.

Not imported by the engine: ``OfficePool`` starts it as ``python3 bridge.py <pipe name>`` beside an ``soffice``
listening on that pipe and talks to it in JSON lines on stdin/stdout, one conversion at a time:
``{"src": path, "dst": path}`` in, ``{"ok": true, "pages": n}`` or ``{"ok": false, "code": ..., "message":
...}`` out. Documents load hidden, read-only, with macro execution forbidden and no interaction handler,
so a password prompt or a macro warning ends the load instead of waiting for an answer.
"""

import json
import sys
import time

import uno
from com.sun.star.beans import PropertyValue

NEVER_EXECUTE = 0  # com.sun.star.document.MacroExecMode.NEVER_EXECUTE
EXPORT_FILTERS = (
    ("com.sun.star.presentation.PresentationDocument", "impress_pdf_Export"),
    ("com.sun.star.drawing.DrawingDocument", "draw_pdf_Export"),
    ("com.sun.star.sheet.SpreadsheetDocument", "calc_pdf_Export"),
    ("com.sun.star.text.TextDocument", "writer_pdf_Export"),
)


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def connect(pipe, wait_s=60.0):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    url = f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext"
    deadline = time.monotonic() + wait_s
    while True:
        try:
            context = resolver.resolve(url)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    return context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)


def convert(desktop, src, dst):
    load = (prop("Hidden", True), prop("ReadOnly", True), prop("MacroExecutionMode", NEVER_EXECUTE),
            prop("UpdateDocMode", 0), prop("Password", ""))
    try:
        document = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0, load)
    except Exception as error:  # IOException, IllegalArgumentException: an unreadable or locked file
        text = str(error)
        code = "document_encrypted" if "password" in text.lower() else "document_unreadable"
        return {"ok": False, "code": code, "message": text[:300] or type(error).__name__}
    if document is None:
        return {"ok": False, "code": "document_unreadable", "message": "LibreOffice could not load the file"}
    try:
        export = next((f for service, f in EXPORT_FILTERS if document.supportsService(service)), None)
        if export is None:
            return {"ok": False, "code": "document_unreadable", "message": "not a text, spreadsheet or presentation"}
        document.storeToURL(uno.systemPathToFileUrl(dst), (prop("FilterName", export),))
        return {"ok": True, "filter": export}
    except Exception as error:
        return {"ok": False, "code": "document_conversion_failed", "message": str(error)[:300]}
    finally:
        try:
            document.close(True)
        except Exception:
            pass


def main():
    desktop = connect(sys.argv[1], float(sys.argv[2]))
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        print(json.dumps(convert(desktop, request["src"], request["dst"])), flush=True)
    # stdin closed: the engine that started this instance is gone (even killed), so LibreOffice goes too
    try:
        desktop.terminate()
    except Exception:
        pass


if __name__ == "__main__":
    main()
