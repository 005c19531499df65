-- What a patient's list screen asks for (issue 12): the page with its total, whether there is a
-- next one, and each appointment with both people, their emails and the doctor's specialty.
page_query = '"{ appointments(first: 20) { totalCount pageInfo { hasNextPage } edges { node { id startsAt status reasonForVisit doctor { id firstName lastName email doctorProfile { specialty } } patient { id firstName lastName email } } } } }"'
page_total = true
dofile(os.getenv("BENCH_DIR") .. "/nested.lua")
