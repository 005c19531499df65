-- The screen's query (screen.lua) for patients who have no appointment (issue 25's empty list):
-- what it costs is the request, the login and the statements, not the rows.
page_tokens = "empty_tokens.txt"
page_rows = 0
dofile(os.getenv("BENCH_DIR") .. "/screen.lua")
