module acpw-ts/bench/go

go 1.24
