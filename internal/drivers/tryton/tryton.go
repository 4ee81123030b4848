// Package tryton is the built-in driver for the Tryton ERP, spoken to over its JSON-RPC
// API: every configured Tryton model (party.party, sale.sale…) is an entity.
package tryton

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/drivers/tryton/rpc"
)

func init() { driver.Register(New()) }

// DefaultModels are the models mirrored when the models setting is left empty.
const DefaultModels = "party.party,product.template,product.product,sale.sale,sale.line,stock.move"

// DefaultMatchFields say by which field a written many2one given as text finds its
// record: a party by its code, a product variant by its code.
const DefaultMatchFields = "party.party:code,product.product:code"

// DefaultPageSize is the number of records per page when a ReadRequest does not say.
const DefaultPageSize = 500

// callTimeout bounds one JSON-RPC call, so a hung server fails a job instead of holding it.
const callTimeout = 2 * time.Minute

// Driver is the tryton driver. It is stateless: every call logs in with the given config.
type Driver struct {
	http *http.Client
}

var (
	_ driver.Driver = (*Driver)(nil)
	_ driver.Writer = (*Driver)(nil)
	_ driver.Looker = (*Driver)(nil)
)

// New returns the driver.
func New() *Driver {
	return &Driver{http: &http.Client{Timeout: callTimeout}}
}

// Spec declares the driver's fields.
func Spec() driver.Spec {
	return driver.Spec{
		Name:        "tryton",
		Label:       "Tryton ERP",
		Description: "Parties, products, sales and stock of a Tryton server, over its JSON-RPC API.",
		Credentials: []driver.Field{
			{Name: "url", Label: "Server URL", Type: driver.TypeURL, Required: true,
				Help: "Address of the Tryton server, e.g. https://erp.example.com:8000"},
			{Name: "database", Label: "Database", Type: driver.TypeText, Required: true},
			{Name: "username", Label: "User name", Type: driver.TypeText, Required: true},
			{Name: "password", Label: "Password", Type: driver.TypePassword, Required: true},
		},
		Settings: []driver.Field{
			{Name: "models", Label: "Models", Type: driver.TypeText, Default: DefaultModels,
				Help: "Comma-separated Tryton models to mirror; each is an entity."},
			{Name: "match_fields", Label: "Match fields", Type: driver.TypeText, Default: DefaultMatchFields,
				Help: "Comma-separated MODEL:FIELD pairs: a written many2one given as text is the record of MODEL whose FIELD has that value (a party by its code); numbers stay ids."},
		},
		Capabilities: driver.Capabilities{Read: true, Write: true, Lookup: true},
	}
}

// Spec returns the driver's spec.
func (d *Driver) Spec() driver.Spec { return Spec() }

// models returns the configured model names.
func models(cfg driver.Config) []string {
	if m := cfg.Settings.List("models"); len(m) > 0 {
		return m
	}
	return strings.Split(DefaultModels, ",")
}

// session logs in with cfg's credentials. Callers must Logout the client.
func (d *Driver) session(ctx context.Context, cfg driver.Config) (*rpc.Client, error) {
	c, err := rpc.New(cfg.Credentials.String("url"), cfg.Credentials.String("database"), d.http)
	if err != nil {
		return nil, driver.CredentialError("url", err.Error())
	}
	if err := c.Login(ctx, cfg.Credentials.String("username"), cfg.Credentials.String("password")); err != nil {
		return nil, loginError(cfg, err)
	}
	return c, nil
}

// loginError explains a failed login by the field to fix, never quoting the password.
func loginError(cfg driver.Config, err error) error {
	switch {
	case errors.Is(err, rpc.ErrUnauthorized):
		return driver.CredentialError("password", "Tryton refused the user name or password")
	case errors.Is(err, rpc.ErrNoDatabase):
		return driver.CredentialError("database", fmt.Sprintf("Tryton has no database %q", cfg.Credentials.String("database")))
	case errors.Is(err, rpc.ErrNotTryton):
		return driver.CredentialError("url", "the server at this URL does not answer as Tryton")
	}
	return callError(cfg, err)
}

// callError classifies a failed call: network failures, rate limits and server errors
// are transient; a refused method is a configuration problem. The message never holds a
// secret.
func callError(cfg driver.Config, err error) error {
	if errors.Is(err, context.Canceled) || (errors.Is(err, context.DeadlineExceeded) && !isNet(err)) {
		return err
	}
	msg := err.Error()
	for _, s := range Spec().SecretValues(cfg) {
		msg = strings.ReplaceAll(msg, s, driver.Mask)
	}
	var httpErr *rpc.HTTPError
	switch {
	case isNet(err):
		return fmt.Errorf("tryton at %s: %s: %w", cfg.Credentials.String("url"), msg, driver.ErrTransient)
	case errors.As(err, &httpErr) && (httpErr.Status == http.StatusTooManyRequests || httpErr.Status >= 500):
		return fmt.Errorf("tryton: %s: %w", msg, driver.ErrTransient)
	case errors.Is(err, rpc.ErrUnauthorized), errors.Is(err, rpc.ErrForbidden), errors.As(err, &httpErr):
		return fmt.Errorf("tryton: %s: %w", msg, driver.ErrConfig)
	}
	return errors.New("tryton: " + msg)
}

func isNet(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

// Check logs in and verifies that every configured model exists.
func (d *Driver) Check(ctx context.Context, cfg driver.Config) error {
	c, err := d.session(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Logout(context.WithoutCancel(ctx))
	_, err = loadModels(ctx, c, models(cfg))
	if err != nil {
		return modelError(cfg, err)
	}
	return checkMatchFields(ctx, c, cfg)
}

// modelError turns a missing model into a field error on the models setting.
func modelError(cfg driver.Config, err error) error {
	var missing *missingModelError
	if errors.As(err, &missing) {
		return driver.SettingError("models", err.Error())
	}
	return callError(cfg, err)
}
