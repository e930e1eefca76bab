#!/usr/bin/env python3
"""Writes sample.wri: a two-page Microsoft Write 3.0 document (the Windows 3.x word
processor), for the office conversion tests. No program saves this format any more
(LibreOffice reads it but cannot write it), so it is built here from the published
file layout: a 128-byte header, the text, then 128-byte pages holding the character
properties, the paragraph properties and the font table.

Usage: python3 make_sample_wri.py OUT.wri
"""
import struct
import sys

PAGE = 128

# Paragraphs end with CR LF; a form feed starts a new page. Write 3.0 text is in the
# Windows ANSI code page (cp1252).
TEXT = (
    "Fax test document in Microsoft Write 3.0 format\r\n"
    "\r\n"
    "This file tests the conversion of an old Windows Write document into fax pages.\r\n"
    "The quick brown fox jumps over the lazy dog. 0123456789\r\n"
    "Accented letters: caf\u00e9, na\u00efve, \u00c5ngstr\u00f6m, Stra\u00dfe.\r\n"
    "\x0c"
    "Second page\r\n"
    "This paragraph comes after a page break and ends the document.\r\n"
).encode("cp1252")


def fkp(first, runs):
    """A formatted disk page: the file offset it starts at, then (end, property
    offset) runs, the run count in the last byte. 0xFFFF means default properties."""
    page = bytearray(PAGE)
    struct.pack_into("<I", page, 0, first)
    for i, (end, prop) in enumerate(runs):
        struct.pack_into("<IH", page, 4 + 6 * i, end, prop)
    page[127] = len(runs)
    return bytes(page)


def font_table(names):
    """Font name table: the count, then for each font its entry size, family byte
    (0x20 = swiss) and NUL-terminated name, closed by a zero size."""
    data = bytearray(struct.pack("<H", len(names)))
    for name in names:
        entry = bytes([0x20]) + name.encode("ascii") + b"\0"
        data += struct.pack("<H", len(entry)) + entry
    data += struct.pack("<H", 0)
    return bytes(data.ljust(PAGE, b"\0"))


def main(out):
    text_end = PAGE + len(TEXT)
    text_pages = (len(TEXT) + PAGE - 1) // PAGE
    body = TEXT.ljust(text_pages * PAGE, b"\0")
    pn_char = 1 + text_pages  # character properties follow the text
    pn_para = pn_char + 1
    pn_ffntb = pn_para + 1
    pn_mac = pn_ffntb + 1
    header = bytearray(PAGE)
    struct.pack_into("<HHH", header, 0, 0xBE31, 0, 0xAB00)  # wIdent, dty, wTool
    struct.pack_into("<I", header, 14, text_end)  # fcMac
    # pnPara, pnFntb, pnSep, pnSetb, pnPgtb, pnFfntb: no footnotes, sections or page
    # table, so each of those points at the next table present.
    struct.pack_into(
        "<HHHHHH", header, 18, pn_para, pn_ffntb, pn_ffntb, pn_ffntb, pn_ffntb, pn_ffntb
    )
    struct.pack_into("<H", header, 96, pn_mac)  # pnMac: pages in the file
    chars = fkp(PAGE, [(text_end, 0xFFFF)])
    paras = fkp(PAGE, [(text_end, 0xFFFF)])
    data = bytes(header) + body + chars + paras + font_table(["Arial"])
    assert len(data) == pn_mac * PAGE
    with open(out, "wb") as f:
        f.write(data)


main(sys.argv[1])
