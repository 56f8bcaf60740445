"""Add (msgid, msgstr) pairs from a JSON file to a .po catalogue (Babel), keeping what is there."""
import json
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

po_path, pairs_path = Path(sys.argv[1]), sys.argv[2]
if po_path.exists():
    with open(po_path, "rb") as handle:
        catalogue = read_po(handle, locale="zh")
else:
    catalogue = Catalog(locale="zh", project="torchgrade")
for msgid, msgstr in json.load(open(pairs_path, encoding="utf-8")):
    catalogue.add(msgid, msgstr)
with open(po_path, "wb") as handle:
    write_po(handle, catalogue, width=100, omit_header=False, sort_output=True)
