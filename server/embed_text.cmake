# Writes file IN as a C++ raw string literal to OUT (cmake -P).
file(READ ${IN} text)
file(WRITE ${OUT} "R\"nbcfg(${text})nbcfg\"\n")
