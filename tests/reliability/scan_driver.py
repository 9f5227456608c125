"""Index a library in this process, deleting one file at the moment the scanner has seen it.

Usage: python scan_driver.py LIBRARY FOLDER VICTIM   (prints the scan report as JSON)

The deletion happens between the scanner's directory walk and its reading of the file,
which is the window in which a user (or a sync tool) removing a photo races the scan.
"""

from __future__ import annotations

import json
import os
import sys

from engine.library import scanner
from engine.facade import BitLens

from engine.models.backbones import BackboneSpec


def main() -> int:
    library_dir, folder, victim = sys.argv[1:4]
    walk = scanner.walk_photos

    def walk_and_delete(root, report):
        for found in walk(root, report):
            if found.path == victim:
                os.unlink(victim)
            yield found

    scanner.walk_photos = walk_and_delete
    with BitLens(library_dir) as library:
        report = library.index([folder], backbone=BackboneSpec.from_args("tiny"))
    print(json.dumps(report.as_dict()))  # ASCII escapes: any path survives the pipe
    return 0


if __name__ == "__main__":
    sys.exit(main())
