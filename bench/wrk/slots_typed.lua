-- availableSlots over 31 days with the doctor's buffered visit type (issue 22).
typed = true
dofile(os.getenv("BENCH_DIR") .. "/slots.lua")
