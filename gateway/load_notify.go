package gateway

import (
	"fmt"
	"path/filepath"

	"github.com/shouwang-iot/shouwang/gateway/alarms"
	"github.com/shouwang-iot/shouwang/gateway/internal/yamlconf"
)

// NotifyConfig says who hears of alarms besides the console: each entry
// carries the messages its route picks (the grids it covers, the
// escalation level it is called from), so escalation goes from the
// community room to the police station to the district by grid.
type NotifyConfig struct {
	MQTT     []yamlconf.Raw `yaml:"mqtt"`
	Webhooks []yamlconf.Raw `yaml:"webhooks"`
}

// NotifyPlan is the notify section decoded over each notifier's defaults,
// with the gateway's fill-ins.
type NotifyPlan struct {
	MQTT     []alarms.MQTTConfig
	Webhooks []alarms.WebhookConfig
}

func (l *loader) decodeNotify(sites siteMap) {
	c := &l.plan.Config
	if len(c.Rules) == 0 && len(c.Notify.MQTT)+len(c.Notify.Webhooks) > 0 {
		l.errorf("notify", "notifiers are configured but no rules are: no alarm would reach them (add rules, or remove notify)")
	}
	seen := map[string]bool{}
	grids := map[string]bool{}
	for _, s := range sites {
		grids[s.cfg.Grid] = true
	}
	checkName := func(p, name string) {
		switch {
		case !validID(name):
			l.errorf(p+".name", "%q is not a name (letters, digits, '-', '_' or '.', e.g. police-station)", name)
		case seen[name]:
			l.errorf(p+".name", "notifier %q is defined twice (names are unique across mqtt and webhooks)", name)
		}
		seen[name] = true
	}
	checkGrids := func(p string, route alarms.Route) {
		for i, g := range route.Grids {
			if g != "" && !grids[g] {
				l.errorf(fmt.Sprintf("%s.route.grids[%d]", p, i), "grid %q is not the grid of any site (sites[].grid)", g)
			}
		}
	}
	for i, raw := range c.Notify.MQTT {
		p := fmt.Sprintf("notify.mqtt[%d]", i)
		cfg := alarms.DefaultMQTTConfig()
		l.errs = append(l.errs, raw.Decode(&cfg)...)
		checkName(p, cfg.Name)
		l.mqttClient(p, "notifier", cfg.Name, &cfg.Broker)
		if cfg.TopicPrefix == "" {
			cfg.TopicPrefix = "shouwang/" + c.Gateway.Name
		}
		l.locate(p, cfg.Validate())
		checkGrids(p, cfg.Route)
		l.plan.Notify.MQTT = append(l.plan.Notify.MQTT, cfg)
	}
	for i, raw := range c.Notify.Webhooks {
		p := fmt.Sprintf("notify.webhooks[%d]", i)
		cfg := alarms.DefaultWebhookConfig()
		l.errs = append(l.errs, raw.Decode(&cfg)...)
		checkName(p, cfg.Name)
		if cfg.DeadLetter == "" {
			cfg.DeadLetter = filepath.Join(c.Gateway.DataDir, "notify", cfg.Name+".deadletter.jsonl")
		}
		cfg.DeadLetter = l.relative(cfg.DeadLetter)
		l.locate(p, cfg.Validate())
		checkGrids(p, cfg.Route)
		l.plan.Notify.Webhooks = append(l.plan.Notify.Webhooks, cfg)
	}
}
