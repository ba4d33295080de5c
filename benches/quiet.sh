# Sourced by the load scripts. wait_quiet [TRIES]: waits until the machine
# is under 10% busy over 3 s (TRIES times 3 s at most, 200 by default), so
# that other work does not skew the figures.
wait_quiet() {
    local tries=${1:-200}
    for _ in $(seq "$tries"); do
        local a b
        a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6; exit}' /proc/stat)
        sleep 3
        b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6; exit}' /proc/stat)
        if awk -v a="$a" -v b="$b" 'BEGIN{split(a,x," ");split(b,y," ");
            busy=y[1]-x[1]; idle=y[2]-x[2]; exit !(busy/(busy+idle) < 0.10)}'; then
            return
        fi
    done
    echo "the machine stayed busy; running anyway" >&2
}
