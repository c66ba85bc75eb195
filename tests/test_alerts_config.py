"""Alert rules and subscribers in the site configuration: every kind parses, mistakes are
reported with the file, the key and the reason, on one line."""

import pytest

from hsiwq.config import load_config
from hsiwq.errors import ConfigError

SITE = '[sites.a]\nlat = 31.4\nlon = 120.2\ntarget_class = "III"\n'


def rules(*tables: str) -> str:
    return SITE + "".join(f"[[sites.a.rules]]\n{t}\n" for t in tables)


def test_every_rule_kind_parses(tmp_path):
    f = tmp_path / "sites.toml"
    f.write_text(rules('param = "chl_a"\nabove = 50\nclear = 40\nfor_minutes = 20',
                       'kind = "who_cyano"\nguideline = "drinking-2021"',
                       'kind = "gb3838"\nparams = ["tp", "tn"]',
                       'kind = "tli"\nworse_than = "light_eutrophic"',
                       'kind = "rate"\nparam = "chl_a"\nfactor = 10\nwindow_minutes = 30',
                       'kind = "gap"\nminutes = 60\ndaylight_only = false',
                       'kind = "sensor"\nfault = "dark_drift"\nlimit = 20\nclear = 10',
                       'kind = "sensor"\nfault = "out_of_domain"\nparam = "tss"')
                 + '[alerting]\nrepeat_minutes = 60\nlanguage = "zh"\n'
                 + '[alerting.smtp]\nhost = "smtp.example.cn"\nusername = "u"\npassword_env = "PW"\n'
                 + '[[subscribers]]\nname = "m"\nchannel = "email"\ntarget = "a@b.cn, c@d.cn"\n'
                 + '[[subscribers]]\nname = "d"\nchannel = "apprise"\ntarget = "dingtalk://${TOKEN}/"\n'
                 + 'sites = ["a"]\nparameters = ["chl_a"]\nmin_severity = "critical"\n')
    config, _ = load_config(f)
    ids = [r.rule_id for r in config.sites["a"].rules]
    assert ids == ["chl_a-above-50", "who-drinking-2021", "gb3838-III", "tli-light_eutrophic",
                   "chl_a-rise-x10-30min", "gap-60min", "sensor-dark_drift", "sensor-out_of_domain-tss"]
    assert config.alerting.smtp.effective_port == 587 and config.subscribers[0].addresses == ["a@b.cn", "c@d.cn"]


@pytest.mark.parametrize("text,msg", [
    (rules('kind = "nope"\nparam = "chl_a"'), "sites.a.rules.0: Input tag 'nope'"),
    (rules('param = "chl_a"\nabove = 5\nbelow = 1'), "sites.a.rules.0: give exactly one of 'above' or 'below'"),
    (rules('param = "chl_a"\nabove = 5\nfor_count = 0'), "sites.a.rules.0.for_count"),
    (rules('param = "chl_a"\nabove = 5', 'param = "chl_a"\nabove = 5'), "two rules with id 'chl_a-above-5'"),
    (SITE.replace('target_class = "III"\n', "") + '[[sites.a.rules]]\nkind = "gb3838"\n', "needs 'target'"),
    (rules('kind = "gb3838"\nparams = ["chl_a"]'), "'chl_a' has no GB 3838-2002 limits"),
    (rules('kind = "who_cyano"\nguideline = "2025"'), "sites.a.rules.0.guideline"),
    (rules('kind = "rate"\nparam = "chl_a"\nfactor = 10\ndelta = 5'), "exactly one of 'factor' or 'delta'"),
    (rules('kind = "sensor"\nfault = "dark_drift"'), "needs 'limit'"),
    (rules('kind = "gap"'), "sites.a.rules.0: a gap rule needs 'minutes' or 'missed'"),
    (SITE + 'timezone = "Mars/Olympus"\n', "unknown time zone"),
    (SITE + '[[subscribers]]\nname = "w"\nchannel = "webhook"\ntarget = "ftp://x"\n', "http:// or https://"),
    (SITE + '[[subscribers]]\nname = "w"\nchannel = "file"\ntarget = "x"\nsecret_env = "S"\n', "webhooks only"),
    (SITE + '[[subscribers]]\nname = "w"\nchannel = "webhook"\ntarget = "https://x"\nsecret_env = "my secret!"\n',
     "must name an environment variable"),
    (SITE + '[[subscribers]]\nname = "m"\nchannel = "email"\ntarget = "a@b.cn"\n', "needs an [alerting.smtp] server"),
    (SITE + '[[subscribers]]\nname = "m"\nchannel = "file"\ntarget = "x"\nsites = ["b"]\n', "unknown site 'b'"),
    (SITE + '[[subscribers]]\nname = "m"\nchannel = "file"\ntarget = "x"\nparameters = ["chl"]\n', "unknown parameter 'chl'"),
    (SITE + '[[subscribers]]\nname = "m"\nchannel = "file"\ntarget = "x"\npassword = "hunter2"\n',
     "subscribers.0.password: Extra inputs are not permitted"),
    (SITE + '[alerting.smtp]\nhost = "h"\npassword_env = "P"\n', "'password_env' needs 'username'"),
])
def test_mistakes_name_file_key_and_reason(tmp_path, text, msg):
    f = tmp_path / "sites.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(f)
    assert str(f) in str(err.value) and msg in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


def test_default_config_rules():
    config, _ = load_config(None)
    taihu = config.sites["taihu-north"]
    assert [r.rule_id for r in taihu.rules] == ["chl-bloom", "sensor-rejects"]
    assert taihu.rules[0].above == 50.0 and taihu.rules[0].clear == 40.0
    assert config.subscribers[0].name == "duty-officer" and config.subscribers[0].channel == "file"
