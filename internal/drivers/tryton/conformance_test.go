package tryton_test

import (
	"context"
	"testing"

	"github.com/junction-hub/junction/internal/driver/drivertest"
	"github.com/junction-hub/junction/internal/drivers/sqltable/sqltabletest"
	"github.com/junction-hub/junction/internal/drivers/tryton"
	"github.com/junction-hub/junction/internal/drivers/tryton/trytontest"
)

// The tryton driver passes the conformance suite in process; cmd/junction's
// TestConnectorServeTryton runs the connector kit against `junction connector serve
// --driver tryton`.

func TestConformance(t *testing.T) {
	in := trytontest.Start(t)
	c := in.Client(t)
	ids := createParties(t, c, "A", "B", "C", "D")
	good := config(t, in, nil)
	drivertest.Exercise(t, tryton.New(), drivertest.Fixture{
		Good:   good,
		Bad:    sqltabletest.With(good, "credentials", "password", "wrong-password"),
		Entity: "party.party",
		Mutate: func(ctx context.Context) error {
			if err := c.Call(ctx, "model.party.party.write", nil, []int64{ids[1], ids[3]}, map[string]any{"name": "changed"}); err != nil {
				return err
			}
			return c.Call(ctx, "model.party.party.create", nil, []any{map[string]any{"name": "E"}})
		},
		WriteKey:    key(ids[0]),
		WriteFields: map[string]any{"name": "written"},
	})
}
