scribe_index("ops-example-org/decisions-2026-11","!ops:example.org",[
["D4","we keep the wiki"],
["D2","use jira"],
["D3","use jira instead"]
]);
