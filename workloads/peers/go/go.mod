module greenbench/peers/go

go 1.19
