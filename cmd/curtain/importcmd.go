package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/importer"
	"github.com/curtainhq/curtain/host/app"
)

const importAbout = `Imports links from another shortener's export into the configured store:
--format bitly (GET /v4/groups/GUID/bitlinks JSON, or the CSV export),
yourls (action=stats JSON, or a CSV of the yourls_url table), shlink
(GET /rest/v3/short-urls JSON, or the web client's CSV), kutt
(GET /api/v2/links JSON) or csv (columns original_url, short_code,
title, created_at, is_active, tags, valid_since, valid_until,
max_visits, expired_url). Links keep their short codes, tags and
validity bounds; a link already imported is left alone, so running it
twice imports nothing the second time. A file without a single entry
(empty, a CSV header alone) fails (exit 1). Ends with a report of every entry
skipped and why, and of settings the source had that Curtain does not
import (tags it refuses, a Shlink domain).
Shows a progress bar on a terminal and plain progress lines otherwise.
See docs/links.md.`

// runImport imports the links of an export file.
func runImport(ctx context.Context, env *cmdEnv, args []string) error {
	f := newConfigFlags("import", env)
	format := f.fs.String("format", "", "the export's format: "+strings.Join(importer.Formats, ", "))
	f.check = func(args []string) string {
		switch {
		case len(args) != 1:
			return "want the export FILE"
		case *format == "":
			return "want --format " + strings.Join(importer.Formats, ", ")
		case !slices.Contains(importer.Formats, *format):
			return fmt.Sprintf("unknown --format %q: use %s", *format, strings.Join(importer.Formats, ", "))
		}
		return ""
	}
	// The file is read before the store is opened: a wrong FILE leaves
	// no new database behind.
	var parsed importer.Result
	f.prepare = func(args []string) error {
		file, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer file.Close()
		if parsed, err = importer.Parse(*format, file); err != nil {
			return fmt.Errorf("import %s: %w", args[0], err)
		}
		if len(parsed.Records) == 0 && len(parsed.Skipped) == 0 {
			return fmt.Errorf("import %s: %w: the file is empty, a CSV header alone or an empty list; nothing imported", args[0], errNoData)
		}
		return nil
	}
	return withStoreFlags(ctx, env, f, args, func(store core.Store, cfg config.Loaded, args []string) error {
		// Imported links are link.created webhooks too; the worker of a
		// serve or consume process delivers them.
		logger := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		svc := core.NewService(app.WebhookStore(cfg.Webhooks, store, logger), core.ServiceConfig{BlockedHosts: cfg.Links.BlockedHostsNormalised()})
		report, err := importLinks(ctx, svc, parsed, newProgress(env.stderr, "importing links", len(parsed.Records)))
		report.write(env.stdout, args[0])
		return err
	})
}

// importReport counts what an import did and lists what it did not.
type importReport struct {
	created, existed int
	// skipped lists the entries not imported, each "where: reason".
	skipped []string
	// dropped lists the settings left out of imported links.
	dropped []string
}

// importLinks stores the parsed records one by one. A record the service
// refuses (a *core.ValidationError) is skipped with its reason; any other
// error stops the import, leaving the links stored so far.
func importLinks(ctx context.Context, svc *core.Service, parsed importer.Result, bar *progress) (importReport, error) {
	var rep importReport
	for _, s := range parsed.Skipped {
		rep.skipped = append(rep.skipped, s.Where+": "+s.Reason)
	}
	defer bar.finish()
	for _, rec := range parsed.Records {
		u, outcome, err := svc.ImportURL(ctx, rec.Link)
		var ve *core.ValidationError
		switch {
		case errors.As(err, &ve):
			what := rec.Where
			if rec.Link.ShortCode != "" {
				what += " (" + rec.Link.ShortCode + ")"
			}
			rep.skipped = append(rep.skipped, what+": "+ve.Message)
		case err != nil:
			return rep, fmt.Errorf("import %s: %w", rec.Where, err)
		case outcome == core.ImportCreated:
			rep.created++
		default:
			rep.existed++
		}
		if err == nil && len(rec.Dropped) > 0 {
			rep.dropped = append(rep.dropped, rec.Where+" ("+u.ShortCode+"): "+strings.Join(rec.Dropped, "; "))
		}
		bar.add(1)
	}
	return rep, nil
}

// write prints the report.
func (r importReport) write(w io.Writer, file string) {
	fmt.Fprintf(w, "Imported %s: %d links created, %d already there, %d skipped\n", file, r.created, r.existed, len(r.skipped))
	if len(r.skipped) > 0 {
		fmt.Fprintln(w, "Skipped:")
		for _, s := range r.skipped {
			fmt.Fprintln(w, "  "+s)
		}
	}
	if len(r.dropped) > 0 {
		fmt.Fprintln(w, "Imported without these settings of the source:")
		for _, s := range r.dropped {
			fmt.Fprintln(w, "  "+s)
		}
	}
}
