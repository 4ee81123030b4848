package main

// The built-in drivers register themselves, as database/sql drivers do.
import (
	_ "github.com/junction-hub/junction/internal/drivers/mysql"
	_ "github.com/junction-hub/junction/internal/drivers/postgres"
	_ "github.com/junction-hub/junction/internal/drivers/sqlite"
	_ "github.com/junction-hub/junction/internal/drivers/tryton"
)
