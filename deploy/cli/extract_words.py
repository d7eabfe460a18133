"""The words of ``samsa-decom extract …`` (:mod:`deploy.cli.extract_cmds` adds them to the
CLI's catalogue, :mod:`deploy.cli.words`, at import): Swedish for the case officer, English
by ``SAMSA_DECOM_LANGUAGE=en`` or ``--lang en``.

Swedish terms: registerutdrag (one person's art. 15 extract), uttag (an organisation's bag),
begäran, ärende, beslutslogg, "Klart senast". Ids, dates, paths and numbers are filled in
unchanged (operators and tests search for them). Every key starts with ``x_``.
"""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    # -- input problems (exit 2, one line) ----------------------------------------------------
    "x_one_source": {
        "sv": "ange exakt en av --source URL och --archive PAKET",
        "en": "give exactly one of --source URL and --archive PACKAGE",
    },
    "x_at_most_one_source": {
        "sv": "ange högst en av --source URL och --archive PAKET",
        "en": "give at most one of --source URL and --archive PACKAGE",
    },
    "x_not_a_date": {
        "sv": "{option} {text!r}: inte ett datum (YYYY-MM-DD)",
        "en": "{option} {text!r}: not a date (YYYY-MM-DD)",
    },
    "x_file_or_request": {
        "sv": "ange exakt en av --file SÖKVÄG (- för standard in) och --request ID",
        "en": "give exactly one of --file PATH (- for standard input) and --request ID",
    },
    "x_one_identity": {
        "sv": "--file {file}: {n} identiteter; ange en här, eller registrera flera med "
        "`samsa-decom extract request --file`",
        "en": "--file {file}: {n} identities; give one here, or register several with "
        "`samsa-decom extract request --file`",
    },
    "x_receipt_needs": {
        "sv": "ange --sha256 och --by (eller --scan)",
        "en": "give --sha256 and --by (or --scan)",
    },
    "x_code_sent": {
        "sv": "en ny engångskod skickades till kanalen '{channel}'",
        "en": "a new one-time code was sent to the channel '{channel}'",
    },
    "x_code_valid": {
        "sv": "en giltig engångskod har redan skickats",
        "en": "a valid one-time code has already been sent",
    },
    "x_code_needed": {
        "sv": "begäran {id}: {where}; kör igen med --code KOD",
        "en": "request {id}: {where}; run again with --code CODE",
    },
    # -- orgs: each organisation's uttag ------------------------------------------------------
    "x_col_org": {"sv": "organisation", "en": "org"},
    "x_col_name": {"sv": "namn", "en": "name"},
    "x_col_records": {"sv": "poster", "en": "records"},
    "x_col_bag": {"sv": "uttag", "en": "bag"},
    "x_col_sha": {"sv": "sha256 (tagmanifest)", "en": "sha256 (tagmanifest)"},
    "x_bags_made": {
        "sv": "{n} uttag, {records} poster, {seconds} s → {out}",
        "en": "{n} bags, {records} records, {seconds} s → {out}",
    },
    "x_delivered": {
        "sv": "{n} uttag levererade; {receipts} mottagningskvitton funna",
        "en": "delivered {n} bags; {receipts} receipts found",
    },
    # -- receipt ------------------------------------------------------------------------------
    "x_receipts_scanned": {
        "sv": "mottagningskvitton bekräftade: {ids}",
        "en": "receipts confirmed: {ids}",
    },
    "x_none": {"sv": "inga", "en": "none"},
    "x_receipt_confirmed": {
        "sv": "mottagning bekräftad: {org} ({bag}) av {by}",
        "en": "receipt confirmed: {org} ({bag}) by {by}",
    },
    # -- status: deliveries and open cases ----------------------------------------------------
    "x_col_state": {"sv": "läge", "en": "state"},
    "x_col_sha256": {"sv": "sha256", "en": "sha256"},
    "x_col_delivered": {"sv": "levererat", "en": "delivered"},
    "x_col_receipt": {"sv": "kvitterat av", "en": "receipt"},
    "x_delivery_produced": {"sv": "framställt", "en": "produced"},
    "x_delivery_delivered": {"sv": "levererat", "en": "delivered"},
    "x_delivery_receipt_confirmed": {"sv": "mottagning bekräftad", "en": "receipt confirmed"},
    "x_no_open_cases": {
        "sv": "Inga öppna ärenden om registerutdrag.",
        "en": "No open cases of person extracts (registerutdrag).",
    },
    "x_open_cases": {
        "sv": "Öppna ärenden om registerutdrag (begäran, typ, status, inkom, Klart senast):",
        "en": "Open cases of person extracts (request, kind, state, received, due by):",
    },
    "x_open_case": {
        "sv": "  {id}  {kind}  {state}  inkom {received}  Klart senast {deadline}: {left}",
        "en": "  {id}  {kind}  {state}  received {received}  due by {deadline}: {left}",
    },
    "x_deadline_passed": {
        "sv": "tidsfristen gick ut för {n} dagar sedan",
        "en": "the deadline passed {n} days ago",
    },
    "x_deadline_today": {"sv": "tidsfristen går ut i dag", "en": "the deadline is today"},
    "x_deadline_in": {
        "sv": "Tidsfristen går ut om {n} dagar",
        "en": "The deadline is in {n} days",
    },
    # -- purge --------------------------------------------------------------------------------
    "x_purged": {
        "sv": "identiteter raderade: {n} (besvarade mer än {days} dagar före {day})",
        "en": "identities deleted: {n} (answered more than {days} days before {day})",
    },
    # -- request, person, review, release: one person's case ----------------------------------
    "x_registered": {
        "sv": "{id}  {masked}  {kind}  Klart senast {deadline}",
        "en": "{id}  {masked}  {kind}  due by {deadline}",
    },
    "x_found": {"sv": "uppgifter funna", "en": "records found"},
    "x_not_found": {"sv": "INGA uppgifter i SAMSA", "en": "NO records in SAMSA"},
    "x_from_live": {"sv": "SAMSA:s databas", "en": "SAMSA's database"},
    "x_from_archive": {"sv": "arkivpaketet", "en": "the archive package"},
    "x_review_written": {"sv": "granskningsexemplar skrivet", "en": "review copy written"},
    "x_released": {"sv": "utdraget lämnat", "en": "extract released"},
    "x_answer": {
        "sv": "begäran {id}: {what} ({state}); {found}, ur {where}",
        "en": "request {id}: {what} ({state}); {found}, from {where}",
    },
    "x_to_review": {"sv": "att sekretesspröva: {items}", "en": "for the secrecy review: {items}"},
    "x_note": {"sv": "OBS: {note}", "en": "NOTE: {note}"},
    # -- extend, withhold, hsa, approve, refuse -----------------------------------------------
    "x_extended": {
        "sv": "begäran {id}: förlängd; besked lämnat {notice}; Klart senast {deadline}",
        "en": "request {id}: extended; notice given {notice}; due by {deadline}",
    },
    "x_withheld_item": {"sv": "uppgiften {item}", "en": "the item {item}"},
    "x_withheld_category": {
        "sv": "hela kategorin {category}",
        "en": "the whole category {category}",
    },
    "x_withheld": {
        "sv": "begäran {id}: {what} lämnas inte ut ({ground}); utlämnandet behöver ett nytt "
        "godkännande",
        "en": "request {id}: {what} is withheld ({ground}); the release needs a new approval",
    },
    "x_hsa_shown": {"sv": "visas", "en": "shown"},
    "x_hsa_hidden": {"sv": "visas inte", "en": "not shown"},
    "x_hsa": {
        "sv": "begäran {id}: personalens HSA-id {shown}",
        "en": "request {id}: staff HSA ids {shown}",
    },
    "x_approved": {"sv": "godkänt", "en": "approved"},
    "x_not_approved": {"sv": "inte godkänt", "en": "not approved"},
    "x_decided": {
        "sv": "begäran {id}: utlämnandet {said} av {approver} (beslutsloggen post {seq})",
        "en": "request {id}: release {said} by {approver} (ledger entry {seq})",
    },
    "x_refused": {
        "sv": "begäran {id}: avslag. Beslutet:\n",
        "en": "request {id}: refused. The decision (in Swedish, as the person gets it):\n",
    },
    # -- case: one request as the case officer reads it ---------------------------------------
    "x_case": {"sv": "Begäran {id}", "en": "Request {id}"},
    "x_case_kind": {"sv": "  Typ: {kind}", "en": "  Kind: {kind}"},
    "x_case_state": {"sv": "  Status: {state}", "en": "  State: {state}"},
    "x_case_received": {"sv": "  Inkom: {day}", "en": "  Received: {day}"},
    "x_case_deadline": {"sv": "  Klart senast: {day}", "en": "  Due by: {day}"},
    "x_case_extended": {
        "sv": "  Förlängd: besked lämnat {day}",
        "en": "  Extended: notice given {day}",
    },
    "x_whole_category": {"sv": "hela kategorin", "en": "the whole category"},
    "x_case_withheld": {
        "sv": "  Lämnas inte ut: {category} {what} ({ground}; {by})",
        "en": "  Withheld: {category} {what} ({ground}; {by})",
    },
    "x_case_hsa": {"sv": "  Personalens HSA-id: {shown}", "en": "  Staff HSA ids: {shown}"},
    "x_case_awaits": {
        "sv": "  Utlämnandet: väntar på godkännande (samsa-decom extract approve)",
        "en": "  Release: awaits approval (samsa-decom extract approve)",
    },
    "x_case_release": {
        "sv": "  Utlämnandet: {said} av {approver}",
        "en": "  Release: {said} by {approver}",
    },
    "x_case_decision": {
        "sv": "  Beslut:",
        "en": "  Decision (in Swedish, as the person gets it):",
    },
    "x_case_assumptions": {"sv": "Antaganden att bekräfta:", "en": "Assumptions to confirm:"},
}
