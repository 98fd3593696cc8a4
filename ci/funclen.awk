# funclen.awk — lines per C function, for finding the long ones:
#   find harness -name '*.c' | xargs awk -f ci/funclen.awk | sort -rn | head
# A function runs from its signature line (column 0, holding a '(') to its closing '}' at
# column 0; the style of this repository (Linux-like braces) makes that exact enough.
/^[A-Za-z_].*\(/ && !infn { start = FNR; sig = $0 }
/^\{/ && !infn { infn = 1 }
/^\}/ && infn {
    infn = 0
    s = sig
    sub(/\(.*/, "", s)
    n = split(s, w, /[ *]+/)
    printf "%5d %s:%s\n", FNR - start + 1, FILENAME, w[n]
}
