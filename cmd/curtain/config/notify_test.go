package config

import (
	"strings"
	"testing"
	"time"
)

func TestLoadNotifyEnvironment(t *testing.T) {
	const hook = "https://discord.com/api/webhooks/123/t0kenSECRET"
	got, err := Load(Sources{Environ: []string{
		"DISCORD_WEBHOOK_URL=" + hook,
		"PROMETHEUS_URL=http://127.0.0.1:9999",
		"NOTIFIER_POLL_SECONDS=3",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if a := got.Plugins.AlertSink; a.Builtin != "discord" || a.Settings["url"] != hook {
		t.Errorf("alertsink = %+v, want the discord plugin with the webhook URL", a)
	}
	if got.Why["alertsink"] != "DISCORD_WEBHOOK_URL" {
		t.Errorf("why alertsink = %q, want DISCORD_WEBHOOK_URL", got.Why["alertsink"])
	}
	if got.Notify.PrometheusURL != "http://127.0.0.1:9999" || got.Notify.PollInterval != 3*time.Second || got.Notify.Addr != ":8080" {
		t.Errorf("notify = %+v", got.Notify)
	}
	out, err := got.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "t0kenSECRET") {
		t.Errorf("config output leaks the webhook token:\n%s", out)
	}
}

// TestLoadNotifierWebhookURL: NOTIFIER_WEBHOOK_URL, where the reference's
// notifier posts its alerts, selects the webhook sink, unless it is the
// reference's relay (notify is the relay) or DISCORD_WEBHOOK_URL is set.
func TestLoadNotifierWebhookURL(t *testing.T) {
	const hook = "https://alerts.example/hook"
	for _, tt := range []struct {
		env          []string
		builtin, why string
	}{
		{[]string{"NOTIFIER_WEBHOOK_URL=" + hook}, "webhook", "NOTIFIER_WEBHOOK_URL"},
		{[]string{"NOTIFIER_WEBHOOK_URL=http://discord_relay:8080/alert"}, "memory", "default"},
		{[]string{"NOTIFIER_WEBHOOK_URL=http://discord_relay:8080/alert", "DISCORD_WEBHOOK_URL=https://discord.example/x"}, "discord", "DISCORD_WEBHOOK_URL"},
		{[]string{"NOTIFIER_WEBHOOK_URL=" + hook, "DISCORD_WEBHOOK_URL=https://discord.example/x"}, "discord", "DISCORD_WEBHOOK_URL"},
	} {
		got, err := Load(Sources{Environ: tt.env})
		if err != nil {
			t.Errorf("%v: %v", tt.env, err)
			continue
		}
		if a := got.Plugins.AlertSink; a.Builtin != tt.builtin || (tt.builtin == "webhook" && a.Settings["url"] != hook) {
			t.Errorf("%v: alertsink = %+v, want builtin %q", tt.env, a, tt.builtin)
		}
		if !strings.HasPrefix(got.Why["alertsink"], tt.why) {
			t.Errorf("%v: why alertsink = %q, want %s", tt.env, got.Why["alertsink"], tt.why)
		}
	}
	if _, err := Load(Sources{Environ: []string{"NOTIFIER_WEBHOOK_URL=relay:8080/alert"}}); err == nil || !strings.Contains(err.Error(), "NOTIFIER_WEBHOOK_URL") {
		t.Errorf("a NOTIFIER_WEBHOOK_URL without scheme: error = %v, want one naming the variable", err)
	}
}

func TestLoadNotifyDefaults(t *testing.T) {
	got, err := Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	want := Notify{Addr: ":8080", PrometheusURL: "http://prometheus:9090", PollInterval: 15 * time.Second}
	if got.Notify != want {
		t.Errorf("notify = %+v, want %+v", got.Notify, want)
	}
}

func TestLoadNotifyRejects(t *testing.T) {
	for _, env := range []string{"NOTIFIER_POLL_SECONDS=0", "NOTIFIER_POLL_SECONDS=1.5", "PROMETHEUS_URL=prometheus:9090"} {
		_, err := Load(Sources{Environ: []string{env}})
		key := strings.SplitN(env, "=", 2)[0]
		if key == "PROMETHEUS_URL" {
			key = "notify.prometheus_url"
		}
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Load(%s) error = %v, want one naming %s", env, err, key)
		}
	}
}

// TestLoadRejectsBadDiscordWebhookURL: a DISCORD_WEBHOOK_URL that is no
// http(s) URL is refused at load, naming the variable and without its
// token; it used to pass `curtain config` and stop only notify, when the
// discord plugin refused its url setting.
func TestLoadRejectsBadDiscordWebhookURL(t *testing.T) {
	const token = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
	for _, v := range []string{"notaurl", "discord.com/api/webhooks/123/" + token, "ftp://discord.com/api/webhooks/123/" + token} {
		_, err := Load(Sources{Environ: []string{"DISCORD_WEBHOOK_URL=" + v}})
		if err == nil || !strings.Contains(err.Error(), "DISCORD_WEBHOOK_URL: invalid value") || strings.Contains(err.Error(), token) {
			t.Errorf("DISCORD_WEBHOOK_URL=%s: error = %v, want one naming the variable, without the token", v, err)
		}
	}
}
