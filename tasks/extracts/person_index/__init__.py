"""The person index: answering one person's extract from the archive package in well under a
second, without scanning it.

Written at archiving time as a ``PACKAGE_EXTRAS`` entry (``build_person_index``), so it lands in
the package's ``metadata/other/`` and is covered by the package's checksums and METS. It is a
small SQLite file:

- ``meta``: format, the .siard's name and size, and the per-package **salt** (derived from
  the .siard's entries, so the same content gives the same index byte for byte);
- ``person_key``: ``HMAC-SHA256(salt, identity)`` → person id and the row's place. The index
  holds no identity in clear text: it can only answer "where is this person?" for someone who
  already knows the identity;
- ``row_loc``: per table and segment (up to 2 million rows, sorted together), blocks of 64
  person ids (``first_id``…``last_id``) → the places of
  every row about those persons: ``places`` packs, for each person, (person id as i64, count
  as u32) and then ``count`` × (byte offset in the .siard as u64, length as u32),
  little-endian, by offset (table entries are stored
  uncompressed, so a row is one ``seek`` + ``read``). A block, not a record per row, because
  SQLite inserts cost about a microsecond each (format 2; format 1, one record per row, is
  still read);
- ``lookup``: id → place for the small tables an extract names (organisations, users).

Rows are decoded with the archive's own reader (``parse_row``), so values are the ones the
reader gives for a full read.

The package's parts: :mod:`~tasks.extracts.person_index.format` (the file's layout, salt and
keyed hashes), :mod:`~tasks.extracts.person_index.rows` (finding every row's place in a stored
.siard entry, in C where the module is built), :mod:`~tasks.extracts.person_index.build`
(:class:`PersonIndexBuilder`, :func:`build_person_index`) and the two ways to answer an
extract from a package: :mod:`~tasks.extracts.person_index.archive_lookup` (through the
index) and :mod:`~tasks.extracts.person_index.scan_lookup` (reading every row, to compare).
"""
