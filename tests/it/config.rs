//! Config validation: every class of mistake is reported with its key path, all at once, and
//! `validate-config` exits 0 / 2 accordingly.

use std::process::Command;

use crate::support::Pki;
use mfagate::config::{Config, FileConfig};

fn errors(pki: &Pki, toml: &str) -> Vec<String> {
    match Config::from_toml(toml, pki.dir.path()) {
        Ok(_) => panic!("config was accepted:\n{toml}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

fn env_block(cert: &str, key: &str, upstream: &str, extra: &str) -> String {
    format!(
        "[[environments]]\nname = \"prod\"\nhosts = [\"chat.test\"]\nupstream = \"{upstream}\"\n{extra}\n\
         [environments.tls]\ncert = \"{cert}\"\nkey = {key}\n"
    )
}

/// `top` followed by a valid environment.
fn with_top(top: &str) -> String {
    format!(
        "{top}\n{}",
        env_block("prod.pem", "\"prod-key.pem\"", "http://127.0.0.1:1", "")
    )
}

fn assert_has(errs: &[String], prefix: &str) {
    assert!(
        errs.iter().any(|e| e.starts_with(prefix)),
        "expected an error starting with {prefix:?}, got {errs:#?}"
    );
}

#[test]
fn valid_config_is_accepted_with_defaults() {
    let pki = Pki::new();
    pki.leaf("prod", &["chat.test"]);
    let toml = env_block("prod.pem", "\"prod-key.pem\"", "http://127.0.0.1:3000", "");
    let config = Config::from_toml(&toml, pki.dir.path()).unwrap();
    assert_eq!(config.gateway_prefix, "/.mfagate/");
    assert_eq!(config.admin_listen.to_string(), "127.0.0.1:9090");
    assert_eq!(config.timeouts.shutdown_drain.as_secs(), 10);
    assert_eq!(config.environments[0].display_name, "prod");
    assert_eq!(config.data_dir, pki.dir.path().join("data"));
}

/// Periods are durations ("36h", "90s", "7d"); the older whole-unit keys still work, one of
/// each pair at most, and a bad duration names its key.
#[test]
fn periods_are_durations_with_the_old_keys_as_aliases() {
    let pki = Pki::new();
    pki.leaf("prod", &["chat.test"]);
    let accept = |extra: &str| {
        let toml = env_block("prod.pem", "\"prod-key.pem\"", "http://127.0.0.1:1", extra);
        Config::from_toml(&toml, pki.dir.path()).unwrap_or_else(|e| panic!("{extra}: {e}"))
    };
    let c = accept("grace_period = \"36h\"\nsession_idle = \"90s\"\nstep_up = \"2m\"\ndevice_trust = \"7d\"\nsession_absolute = \"1h 30m\"");
    let env = &c.environments[0];
    assert_eq!(env.policy.grace_secs, 36 * 3600);
    assert_eq!(env.sessions.idle.as_secs(), 90);
    assert_eq!(env.policy.step_up_secs, 120);
    assert_eq!(env.sessions.device_trust.as_secs(), 7 * 86_400);
    assert_eq!(env.sessions.absolute.as_secs(), 5400);
    let old = accept("grace_period_days = 2\nsession_idle_minutes = 5\nstep_up_minutes = 3");
    let env = &old.environments[0];
    assert_eq!(env.policy.grace_secs, 2 * 86_400);
    assert_eq!(env.sessions.idle.as_secs(), 300);
    assert_eq!(env.policy.step_up_secs, 180);
    assert_eq!(
        accept("grace_period = \"0s\"").environments[0]
            .policy
            .grace_secs,
        0
    );
    let rejected = |extra: &str| {
        let toml = env_block("prod.pem", "\"prod-key.pem\"", "http://127.0.0.1:1", extra);
        errors(&pki, &toml)
    };
    assert_has(
        &rejected("grace_period = \"1h\"\ngrace_period_days = 1"),
        "environments[0].grace_period: set environments[0].grace_period or",
    );
    assert_has(
        &rejected("grace_period = \"soon\""),
        "environments[0].grace_period: \"soon\" is not a duration",
    );
    assert_has(
        &rejected("device_trust = \"400d\""),
        "environments[0].device_trust: must be at most 365 days",
    );
    assert_has(
        &rejected("session_idle_minutes = 0"),
        "environments[0].session_idle_minutes: must be at least 1 minute",
    );
    // Code lifetimes and blocks too.
    let codes = "[environments.email_otp]\ncode_ttl = \"10m\"\nresend_after = \"30s\"\nsend_window = \"1h\"\n\
                 [environments.regulation]\nblock = \"2m\"\nip_block_secs = 60";
    let env = &accept(codes).environments[0];
    assert_eq!(env.email_otp.ttl_secs, 600);
    assert_eq!(env.email_otp.resend_after_secs, 30);
    assert_eq!(env.email_otp.send_window_secs, 3600);
    assert_eq!(env.regulation.user.block_secs, 120);
    assert_eq!(env.regulation.ip.block_secs, 60);
    let old = accept("[environments.email_otp]\ncode_ttl_secs = 120");
    assert_eq!(old.environments[0].email_otp.ttl_secs, 120);
    assert_has(
        &rejected("[environments.email_otp]\ncode_ttl = \"2h\""),
        "environments[0].email_otp.code_ttl: must be between 1 and 60 minutes",
    );
    assert_has(
        &rejected("[environments.regulation]\nblock = \"1m\"\nblock_secs = 60"),
        "environments[0].regulation.block: set",
    );
}

#[test]
fn each_class_of_mistake_names_its_key() {
    let pki = Pki::new();
    pki.leaf("prod", &["chat.test"]);
    pki.leaf("other", &["other.test"]);
    let good_key = "\"prod-key.pem\"";
    let cases: Vec<(String, &str)> = vec![
        (
            env_block("prod.pem", good_key, "htp:/x", ""),
            "environments[0].upstream: invalid URL \"htp:/x\"",
        ),
        (
            env_block("prod.pem", good_key, "http://10.0.0.1/app", ""),
            "environments[0].upstream: invalid URL",
        ),
        (
            env_block("missing.pem", good_key, "http://127.0.0.1:1", ""),
            "environments[0].tls.cert: cannot read",
        ),
        (
            env_block("prod.pem", "\"missing-key.pem\"", "http://127.0.0.1:1", ""),
            "environments[0].tls.key: cannot read",
        ),
        (
            env_block("prod.pem", "\"other-key.pem\"", "http://127.0.0.1:1", ""),
            "environments[0].tls.key: unusable key or key does not match",
        ),
        (
            env_block(
                "prod.pem",
                "{ env = \"MFAGATE_TEST_UNSET_KEY\" }",
                "http://127.0.0.1:1",
                "",
            ),
            "environments[0].tls.key: environment variable MFAGATE_TEST_UNSET_KEY is not set",
        ),
        (
            env_block("prod.pem", "{ env = \"HOME\" }", "http://127.0.0.1:1", ""),
            "environments[0].tls.key: environment variable \"HOME\" must start with MFAGATE_",
        ),
        (
            env_block(
                "prod.pem",
                good_key,
                "http://127.0.0.1:1",
                "mfa = \"required\"",
            ),
            "environments[0].mfa:",
        ),
        (
            env_block(
                "prod.pem",
                good_key,
                "https://127.0.0.1:1",
                "upstream_ca_file = \"nope.pem\"",
            ),
            "environments[0].upstream_ca_file: cannot read",
        ),
        (
            with_top("listen = \"localhost\""),
            "listen: invalid socket address \"localhost\"",
        ),
        (with_top("gateway_prefix = \"mfa\""), "gateway_prefix:"),
        (with_top("[log]\nformat = \"xml\""), "log.format:"),
        (with_top("[timeouts]\nidle_secs = 0"), "timeouts.idle_secs:"),
        (
            format!(
                "{}{}",
                env_block("prod.pem", good_key, "http://127.0.0.1:1", ""),
                env_block("prod.pem", good_key, "http://127.0.0.1:2", "")
                    .replace("\"prod\"\nhosts", "\"second\"\nhosts")
            ),
            "environments[1].hosts: \"chat.test\" is already served by environments[0]",
        ),
        (
            env_block("prod.pem", good_key, "http://127.0.0.1:1", "")
                .replace("\"chat.test\"", "\"*.chat.test\""),
            "environments[0].hosts[0]:",
        ),
        (String::new(), "environments: at least one"),
        (with_top("listn = \"x\""), "listn: unknown field `listn`"),
        (
            env_block(
                "prod.pem",
                good_key,
                "http://127.0.0.1:1",
                "upstreem = \"x\"",
            ),
            "environments[0].upstreem: unknown field",
        ),
        (
            env_block(
                "prod.pem",
                good_key,
                "http://127.0.0.1:1",
                "session_idle_minutes = \"soon\"",
            ),
            "environments[0].session_idle_minutes: invalid type",
        ),
    ];
    for (toml, want) in cases {
        assert_has(&errors(&pki, &toml), want);
    }
}

#[test]
fn all_errors_are_reported_together() {
    let pki = Pki::new();
    let toml = format!(
        "listen = \"nope\"\nadmin_listen = \"also nope\"\n{}",
        env_block("missing.pem", "\"missing-key.pem\"", "htp:/x", "")
    );
    let errs = errors(&pki, &toml);
    for key in [
        "listen:",
        "admin_listen:",
        "environments[0].upstream:",
        "environments[0].tls.cert:",
        "environments[0].tls.key:",
    ] {
        assert_has(&errs, key);
    }
}

#[test]
fn private_key_can_come_from_an_environment_variable() {
    let pki = Pki::new();
    pki.leaf("prod", &["chat.test"]);
    let pem = std::fs::read_to_string(pki.path("prod-key.pem")).unwrap();
    // Unique name: tests in this binary run in parallel threads of one process.
    std::env::set_var("MFAGATE_TEST_PROD_TLS_KEY", pem);
    let toml = env_block(
        "prod.pem",
        "{ env = \"MFAGATE_TEST_PROD_TLS_KEY\" }",
        "http://127.0.0.1:1",
        "",
    );
    assert!(Config::from_toml(&toml, pki.dir.path()).is_ok());
}

#[test]
fn reference_config_documents_only_real_keys() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/mfagate.toml"))
        .unwrap();
    FileConfig::parse(&text).unwrap_or_else(|e| panic!("config/mfagate.toml: {e}"));
    let redis = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/redis-standalone.toml"
    ))
    .unwrap();
    FileConfig::parse(&redis).unwrap_or_else(|e| panic!("config/redis-standalone.toml: {e}"));
    for example in ["redis-sentinel.toml", "redis-cluster.toml"] {
        let path = format!("{}/config/{example}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        FileConfig::parse(&text).unwrap_or_else(|e| panic!("config/{example}: {e}"));
    }
    let demo = FileConfig::parse(mfagate::demo::DEMO_CONFIG).unwrap();
    assert_eq!(demo.environments.len(), 1);
}

#[test]
fn validate_config_command_exit_codes() {
    let pki = Pki::new();
    pki.leaf("prod", &["chat.test"]);
    let good = pki.path("good.toml");
    std::fs::write(
        &good,
        env_block("prod.pem", "\"prod-key.pem\"", "http://127.0.0.1:1", ""),
    )
    .unwrap();
    let bad = pki.path("bad.toml");
    std::fs::write(
        &bad,
        env_block("prod.pem", "\"prod-key.pem\"", "htp:/x", ""),
    )
    .unwrap();
    let validate = |path: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_mfagate"))
            .args(["validate-config", "--config"])
            .arg(path)
            .output()
            .unwrap()
    };

    let ok = validate(&good);
    assert_eq!(ok.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("OK"));

    let fail = validate(&bad);
    assert_eq!(fail.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&fail.stderr);
    assert!(
        stderr.contains("environments[0].upstream: invalid URL \"htp:/x\""),
        "{stderr}"
    );

    let missing = validate(std::path::Path::new("/nonexistent/mfagate.toml"));
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn authentication_settings_are_validated_with_key_paths() {
    let pki = Pki::new();
    pki.leaf("prod", &["chat.test"]);
    std::fs::write(pki.path("short.key"), "c2hvcnQ=").unwrap();
    std::fs::write(
        pki.path("good.key"),
        "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
    )
    .unwrap();
    let login = "[environments.login]\nroutes = [{ path = \"/login\" }]\nsession_cookies = [\"s\"]\nusername_field = \"email\"\nprobe = { path = \"/api/me\", user_pointer = \"/user\" }\n";
    let with = |secrets: &str, env_extra: &str, login_extra: &str| {
        format!(
            "{secrets}\n{}{login}{login_extra}",
            env_block(
                "prod.pem",
                "\"prod-key.pem\"",
                "http://127.0.0.1:1",
                env_extra
            )
        )
    };
    let keys = "[secrets]\nkeys = [\"good.key\"]";
    assert!(Config::from_toml(&with(keys, "mfa = \"required\"", ""), pki.dir.path()).is_ok());
    let cases = [
        (
            with("", "mfa = \"required\"", ""),
            "secrets.keys: at least one master key",
        ),
        (
            with("[secrets]\nkeys = [\"short.key\"]", "", ""),
            "secrets.keys[0]: must decode to at least 32 bytes",
        ),
        (
            with("[secrets]\nkeys = [\"nope.key\"]", "", ""),
            "secrets.keys[0]: cannot read",
        ),
        (
            with(keys, "mfa = \"sometimes\"", ""),
            "environments[0].mfa:",
        ),
        (
            env_block(
                "prod.pem",
                "\"prod-key.pem\"",
                "http://127.0.0.1:1",
                "mfa = \"required\"",
            ),
            "environments[0].mfa: \"required\" needs",
        ),
        (
            with(keys, "", "token_pointer = \"data/token\""),
            "environments[0].login.token_pointer:",
        ),
        (
            with(keys, "", "anonymous = \"maybe\""),
            "environments[0].login.anonymous:",
        ),
        (
            with(keys, "", "[environments.login.logout]\npath = \"/out\"\ncsrf = { from = \"meta:csrf-token\", send = \"header:X-CSRF-Token\" }"),
            "environments[0].login.logout.csrf.page: a token in a form field",
        ),
        (
            with(keys, "", "[environments.login.logout]\npath = \"/out\"\ncsrf = { from = \"body:x\", send = \"header:X\" }"),
            "environments[0].login.logout.csrf.from: \"body\" is not",
        ),
        (
            with(keys, "", "[environments.login.logout]\npath = \"/out\"\ncsrf = { from = \"cookie:c\", send = \"header\" }"),
            "environments[0].login.logout.csrf.send: \"header\" is not KIND:NAME",
        ),
        (
            with(keys, "", "[environments.login.logout]\npath = \"/out\"\ncsrf = { page = \"https://x/\", from = \"cookie:c\", send = \"field:c\" }"),
            "environments[0].login.logout.csrf.page:",
        ),
        (
            with(keys, "", "[environments.login.logout]\npath = \"/out\"\nexpect = { status = [99] }"),
            "environments[0].login.logout.expect.status: 99",
        ),
        (
            with(keys, "", "public_paths = [\"static\"]"),
            "environments[0].login.public_paths[0]:",
        ),
        (
            with(keys, "", "login_page = \"//evil.com\""),
            "environments[0].login.login_page:",
        ),
        (
            with(keys, "session_idle_minutes = 0", ""),
            "environments[0].session_idle_minutes:",
        ),
        (
            with(keys, "device_trust_days = 400", ""),
            "environments[0].device_trust_days:",
        ),
        (
            with(&format!("[audit]\nretention = \"soon\"\n{keys}"), "", ""),
            "audit.retention: \"soon\" is not a duration",
        ),
        (
            with(&format!("[audit]\nexport_retention = \"5m\"\n{keys}"), "", ""),
            "audit.export_retention: \"5m\" is shorter than one hour",
        ),
        (
            with(keys, "retention = \"2h\"", ""),
            "environments[0].retention: is shorter than session_absolute",
        ),
        (
            with(keys, "[environments.branding]\ncolor = \"#2186eb\"", ""),
            "environments[0].branding.color: #2186eb has 3.7:1 contrast against the white button text",
        ),
        (
            with(keys, "language = \"fr\"", ""),
            "environments[0].language: \"fr\" is not \"en\", \"id\" or \"nl\"",
        ),
        (
            with(keys, "timezone = \"Asia/Atlantis\"", ""),
            "environments[0].timezone: \"Asia/Atlantis\" is not an IANA time zone",
        ),
        (
            with(keys, "[environments.branding]\ncolor = \"blue\"", ""),
            "environments[0].branding.color: \"blue\" is not a colour",
        ),
        (
            with(keys, "[environments.branding]\nsupport = \"call Bob\"", ""),
            "environments[0].branding.support: \"call Bob\" is neither an email address nor an https:// URL",
        ),
        (
            with(keys, "[environments.branding]\nlogo = \"logo.gif\"", ""),
            "environments[0].branding.logo: \"logo.gif\" is not a .png, .svg, .jpg or .webp file",
        ),
        (
            with(keys, "[environments.branding]\nlogo = \"missing.svg\"", ""),
            "environments[0].branding.logo: cannot read",
        ),
        (
            with(keys, "", "").replace(
                "routes = [{ path = \"/login\" }]",
                "routes = [{ path = \"/a/../login\", format = \"xml\" }]",
            ),
            "environments[0].login.routes[0].path:",
        ),
        (
            with(keys, "", "").replace(
                "probe = { path = \"/api/me\", user_pointer = \"/user\" }\n",
                "",
            ),
            "environments[0].login.routes[0]: no positive sign of a successful login",
        ),
        (
            with(keys, "", "trust_request_username = true").replace(
                "probe = { path = \"/api/me\", user_pointer = \"/user\" }\n",
                "",
            ),
            "environments[0].login.success_location: a form login trusted",
        ),
        (
            with(
                keys,
                "",
                "probe = { path = \"api/me\", user_pointer = \"user\" }",
            )
            .replace(
                "probe = { path = \"/api/me\", user_pointer = \"/user\" }\n",
                "",
            ),
            "environments[0].login.probe.path:",
        ),
        (
            with(keys, "sensitive_paths = [\"/\u{17f}ettings/*\"]", ""),
            "environments[0].sensitive_paths[0]:",
        ),
        (
            with(keys, "", "").replace(
                "[environments.login]",
                "[environments.identity_headers]\nuser = \"bad header\"\n[environments.login]",
            ),
            "environments[0].identity_headers.user:",
        ),
        (
            with(keys, "", "").replace("session_cookies = [\"s\"]\n", ""),
            "environments[0].login: set session_cookies and/or token_pointer",
        ),
    ];
    for (toml, want) in cases {
        assert_has(&errors(&pki, &toml), want);
    }
}

#[test]
fn mail_and_factor_settings_are_validated_with_key_paths() {
    let pki = Pki::new();
    pki.leaf("prod", &["chat.test"]);
    let env = |extra: &str| env_block("prod.pem", "\"prod-key.pem\"", "http://127.0.0.1:1", extra);
    let ok = format!(
        "[mail]\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\nsecurity = \"none\"\nfrom = \"a@b.test\"\n{}",
        env("methods = [\"totp\", \"email\"]")
    );
    assert!(Config::from_toml(&ok, pki.dir.path()).is_ok());
    let passkeys = env("methods = [\"passkey\"]\nphishing_resistant_roles = [\"admin\"]\n[environments.passkeys]\nrp_id = \"test\"");
    assert!(
        Config::from_toml(&passkeys, pki.dir.path()).is_ok(),
        "a parent domain is a relying party"
    );
    let cases = [
        (env("methods = [\"email\"]"), "environments[0].methods: \"email\" needs a [mail] table"),
        (env("methods = [\"sms\"]"), "environments[0].methods[0]:"),
        (env("methods = [\"backup\"]"), "environments[0].methods: needs \"totp\", \"email\" or \"passkey\""),
        (env("phishing_resistant_roles = [\"admin\"]"), "environments[0].phishing_resistant_roles: needs \"passkey\""),
        (env("methods = [\"passkey\"]\nphishing_resistant_roles = [\"boss\"]"), "environments[0].phishing_resistant_roles[0]:"),
        (env("methods = [\"passkey\"]\n[environments.passkeys]\nrp_id = \"example.org\""), "environments[0].passkeys.rp_id: \"example.org\" is neither one of the hosts"),
        (env("methods = [\"passkey\"]\n[environments.passkeys]\nrp_id = \"chat test\""), "environments[0].passkeys.rp_id: \"chat test\" is not a DNS host name"),
        (env("methods = [\"passkey\"]\n[environments.passkeys]\nuser_verification = \"always\""), "environments[0].passkeys.user_verification:"),
        (
            "[[environments]]\nname = \"prod\"\nhosts = [\"chat.test\", \"chat.example\"]\nupstream = \"http://127.0.0.1:1\"\n\
             methods = [\"passkey\"]\nphishing_resistant_roles = [\"admin\"]\n[environments.tls]\ncert = \"prod.pem\"\nkey = \"prod-key.pem\"\n".to_string(),
            "environments[0].passkeys.rp_id: \"chat.test\" does not cover host \"chat.example\"",
        ),
        (
            env("methods = [\"totp\", \"passkey\"]\nphishing_resistant_roles = [\"admin\"]\n[environments.role_methods]\nadmin = [\"totp\"]"),
            "environments[0].role_methods.admin: must offer \"passkey\"",
        ),
        (format!("[mail]\ntransport = \"smtp\"\nfrom = \"a@b.test\"\n{}", env("")), "mail.host: is required"),
        (format!("[mail]\ntransport = \"file\"\nfrom = \"not an address\"\n{}", env("")), "mail.from:"),
        (format!("[mail]\ntransport = \"pigeon\"\nfrom = \"a@b.test\"\n{}", env("")), "mail.transport:"),
        (
            format!("[mail]\nhost = \"h\"\nsecurity = \"none\"\nusername = \"u\"\npassword = {{ env = \"MFAGATE_TEST_SMTP_PW\" }}\nfrom = \"a@b.test\"\n{}", env("")),
            "mail.password: environment variable MFAGATE_TEST_SMTP_PW is not set",
        ),
        (format!("[mail]\nhost = \"h\"\nusername = \"u\"\nfrom = \"a@b.test\"\n{}", env("")), "mail.username: username and password go together"),
        (env("[environments.email_otp]\ncode_ttl_secs = 5"), "environments[0].email_otp.code_ttl_secs:"),
        (env("[environments.regulation]\nmax_failures = 0"), "environments[0].regulation.max_failures:"),
    ];
    for (toml, want) in cases {
        assert_has(&errors(&pki, &toml), want);
    }
}

#[test]
fn policy_and_sso_settings_are_validated_with_key_paths() {
    let pki = Pki::new();
    pki.leaf("prod", &["chat.test"]);
    std::fs::write(pki.path("empty-jwks.json"), "{\"keys\":[]}").unwrap();
    let env = |extra: &str| env_block("prod.pem", "\"prod-key.pem\"", "http://127.0.0.1:1", extra);
    let cases = [
        (format!("[[users]]\nidentity = \"a@b.test\"\nrole = \"boss\"\nenvironments = [\"prod\"]\n{}", env("")), "users[0].role:"),
        (format!("[[users]]\nidentity = \"a@b.test\"\nrole = \"agent\"\nenvironments = [\"nope\"]\n{}", env("")), "users[0].environments[0]:"),
        (format!("[[user_rules]]\nemail_domain = \"@b.test\"\nrole = \"agent\"\n{}", env("")), "user_rules[0].email_domain:"),
        (env("mfa_roles = [\"chef\"]"), "environments[0].mfa_roles[0]:"),
        (env("sensitive_paths = [\"billing\"]"), "environments[0].sensitive_paths[0]:"),
        (env("[[environments.rules]]\nroles = [\"agent\"]\npaths = [\"/x\"]\naction = \"allow\""), "environments[0].rules[0].action:"),
        (env("[[environments.rules]]\nroles = [\"agent\"]\npaths = [\"/x\"]\nmethods = [\"PO ST\"]"), "environments[0].rules[0].methods[0]:"),
        (env("[environments.role_methods]\nadmin = [\"email\"]"), "environments[0].role_methods.admin:"),
        (env("[environments.sso]\njwt_header = \"X-Jwt\"\njwks_file = \"empty-jwks.json\"\nissuer = \"i\"\naudience = \"a\""), "environments[0].sso.jwks_file: has no keys"),
        (env("[environments.sso]\njwt_header = \"X-Jwt\"\njwks_url = \"http://sso.test/keys\"\nissuer = \"i\"\naudience = \"a\""), "environments[0].sso.jwks_url:"),
        (env("[environments.sso]\ntrusted_header = \"X-Forwarded-Email\"\ntrusted_proxies = [\"10.0.0.0/33\"]"), "environments[0].sso.trusted_proxies[0]:"),
        (format!("[assertion]\nkey = \"prod-key.pem\"\nalgorithm = \"HS256\"\n{}", env("")), "assertion.algorithm:"),
    ];
    for (toml, want) in cases {
        assert_has(&errors(&pki, &toml), want);
    }
    // HMAC algorithms are refused for SSO tokens: the JWKS is public.
    std::fs::write(
        pki.path("jwks.json"),
        "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"kid\":\"k\"}]}",
    )
    .unwrap();
    let hs = env("[environments.sso]\njwt_header = \"X-Jwt\"\njwks_file = \"jwks.json\"\nalgorithms = [\"HS256\"]\nissuer = \"i\"\naudience = \"a\"");
    assert_has(&errors(&pki, &hs), "environments[0].sso.algorithms[0]:");
}

#[test]
fn store_settings_are_validated_with_key_paths() {
    let pki = Pki::new();
    pki.leaf("prod", &["chat.test"]);
    std::fs::write(pki.path("redis-pw"), "pw\n").unwrap();
    let store = |keys: &str| with_top(&format!("[store]\nbackend = \"redis\"\n{keys}"));
    let sentinel =
        "topology = \"sentinel\"\nnodes = [\"redis://127.0.0.1:26379\"]\nmaster_name = \"m\"";
    let cluster =
        "topology = \"cluster\"\nnodes = [\"redis://127.0.0.1:7000\", \"redis://127.0.0.1:7001\"]";
    for ok in [
        "url = \"redis://127.0.0.1:6379/0\"",
        sentinel,
        cluster,
        &format!("{sentinel}\nusername = \"gw\"\npassword = {{ file = \"redis-pw\" }}\nsentinel_password = {{ file = \"redis-pw\" }}"),
    ] {
        Config::from_toml(&store(ok), pki.dir.path())
            .unwrap_or_else(|e| panic!("refused:\n{ok}\n{e}"));
    }
    let cases = [
        (store(""), "store.url: is required"),
        (
            store("url = \"http://127.0.0.1:6379\""),
            "store.url: must start with redis://",
        ),
        (store("topology = \"ring\""), "store.topology:"),
        (
            store("url = \"redis://h:1\"\nnodes = [\"redis://h:2\"]"),
            "store.nodes: is only for",
        ),
        (
            store("url = \"redis://h:1\"\npassword = \"redis-pw\""),
            "store.password: is only for",
        ),
        (
            store("topology = \"sentinel\"\nnodes = [\"redis://h:26379\"]"),
            "store.master_name: is required",
        ),
        (
            store("topology = \"sentinel\"\nmaster_name = \"m\""),
            "store.nodes: at least one",
        ),
        (
            store(&format!("{sentinel}\nurl = \"redis://h:1\"")),
            "store.url: is only for",
        ),
        (
            store("topology = \"cluster\"\nnodes = [\"redis://:pw@h:7000\"]"),
            "store.nodes[0]: must not carry credentials",
        ),
        (
            store("topology = \"cluster\"\nnodes = [\"h:7000\"]"),
            "store.nodes[0]: must start with",
        ),
        (
            store("topology = \"cluster\"\nnodes = [\"redis://h:7000\", \"rediss://h:7001\"]"),
            "store.nodes: use rediss://",
        ),
        (
            store(&format!("{cluster}\nmaster_name = \"m\"")),
            "store.master_name: is only for",
        ),
        (
            store(&format!("{cluster}\nprefix = \"{{gw}}:\"")),
            "store.prefix: must not contain",
        ),
        (
            store(&format!(
                "{cluster}\npassword = {{ env = \"MFAGATE_TEST_UNSET_REDIS_PW\" }}"
            )),
            "store.password: environment variable MFAGATE_TEST_UNSET_REDIS_PW is not set",
        ),
        (
            store(&format!("{cluster}\nmax_staleness_secs = 0")),
            "store.max_staleness_secs:",
        ),
        (
            store(&format!("{cluster}\npassword = \"hunter2\"")),
            "store.password: must be { file",
        ),
        (
            store(&format!("{cluster}\nca_file = \"missing-ca.pem\"")),
            "store.ca_file: cannot read",
        ),
    ];
    for (toml, want) in cases {
        assert_has(&errors(&pki, &toml), want);
    }
    // A password written in place is refused without being repeated.
    let errs = errors(&pki, &store(&format!("{cluster}\npassword = \"hunter2\"")));
    assert!(errs.iter().all(|e| !e.contains("hunter2")), "{errs:?}");
}

/// The systemd unit in `config/` is accepted by `systemd-analyze verify` without a warning
/// (a misspelt setting is only warned about), with the hardening it promises.
#[test]
fn the_systemd_unit_verifies_cleanly() {
    let unit = std::fs::read_to_string("config/mfagate.service").unwrap();
    for key in [
        "ExecReload=/bin/kill -HUP $MAINPID",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/mfagate",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "LimitNOFILE=",
    ] {
        assert!(unit.contains(key), "the unit sets {key}");
    }
    let Ok(which) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        panic!("systemd-analyze is missing: install the systemd package (tests/run.sh does)");
    };
    assert!(which.status.success());
    // verify checks that the binary exists: point the unit at the one just built.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mfagate.service");
    let built = unit.replace("/usr/local/bin/mfagate", env!("CARGO_BIN_EXE_mfagate"));
    std::fs::write(&path, built).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let about_unit: Vec<&str> = stderr.lines().filter(|l| l.contains("mfagate")).collect();
    assert!(out.status.success() && about_unit.is_empty(), "{stderr}");
}
