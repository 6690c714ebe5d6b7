# mfagate's words in English. Keys are grouped by page; `$name` values are filled in by the
# gateway (HTML-escaped on pages). Markup (<b>) is allowed on pages, never in email keys.

## Every page
page-secured-by = secured by mfagate
nav-account = Your account
nav-security = Security
nav-sessions = Sessions and devices
nav-admin = Admin console
nav-leave = Leave this page
back-to = Back to { $brand }
your-sessions = Your sessions and devices
support = Need help? Contact { $contact }.
time-zone = Times are shown in { $zone }.

## Shared form parts
code-6 = 6-digit code
code-from-app = 6-digit code from the app
code-from-email = Code from the email
use-app-instead = Use the authenticator app instead
trust-label = Trust this browser for { $days } days
trust-hint = Uncheck on a shared computer: the next sign-in here asks for a code again.
continue = Continue
back = Back
verify = Verify
confirm = Confirm
sign-in = Sign in
none = none
never = never
all = all

## Choosing a method
choose-title = Confirm it's you
choose-intro = Your password was accepted. Choose how to confirm it's you, <b>{ $user }</b>:
choose-app = Set up an authenticator app
choose-app-note = recommended
choose-email = Email me a code
no-method-title = No second factor available
no-method-text = None of the sign-in methods allowed here can be used with your account. Please contact your administrator.

## Setting up an authenticator app
enroll-title = Set up your authenticator app
enroll-replacing = Set up the new authenticator app for <b>{ $user }</b>; the old one keeps working until the new one is confirmed.
enroll-opting-in = Turn on two-step verification for <b>{ $user }</b> with an authenticator app.
enroll-required = Signing in as <b>{ $user }</b> requires an authenticator app.
enroll-scan = Scan this code with Google Authenticator, Microsoft Authenticator, 1Password or any TOTP app.
enroll-qr-alt = QR code for your authenticator app
enroll-on-phone = On the phone with the app?
enroll-open-app = Open in your authenticator app
enroll-cant-scan = Can't scan it? Enter this setup key instead:
enroll-activate = Activate
enroll-wrong = That code did not match. Check the time on your phone and try the current code.

## Backup codes
codes-title = Your backup codes
codes-intro = Keep these backup codes somewhere safe. Each one signs you in once if you lose your phone. <b>They are shown only now.</b>
codes-download = Download as text
codes-saved = I saved them, continue
codes-file-name = backup-codes.txt
codes-file =
    Backup codes for { $brand } (two-step verification by mfagate)
    Account: { $user }
    Made: { $made }

    Each code works once, when you cannot use your authenticator app. Making new codes cancels these. Keep this file somewhere safe, away from your password.

## Entering a code
verify-title = Enter your code
verify-intro = Enter the code from your authenticator app to finish signing in as <b>{ $user }</b>.
verify-step-up = This page needs a fresh confirmation. Enter the code from your authenticator app, <b>{ $user }</b>.
verify-use-email = Email me a code instead
verify-use-backup = Use a backup code instead
verify-cant = I can't use my authenticator
code-wrong = That code did not work. Wait for a new code and try again.
tries-left =
    { $left ->
        [one] 1 try left before code entry is paused for a few minutes.
       *[other] { $left } tries left before code entry is paused for a few minutes.
    }
blocked-title = Too many wrong codes
blocked-text = For your security, code entry is blocked until { $until }. Please try again after that.
confirmed-title = Already confirmed
confirmed-text = Your second factor for this sign-in is already confirmed. Nothing else to enter.

## Backup code sign-in
backup-title = Use a backup code
backup-intro = Enter one of your backup codes. Each code works once.
backup-label = Backup code
backup-wrong = That backup code did not work.

## Email codes
email-title = Sign in with an email code
email-sent = We sent a 6-digit code to <b>{ $address }</b>. It works once and expires in { $minutes } minutes.
email-will-send = We'll email a 6-digit code to <b>{ $address }</b>, the address on your account.
email-send = Send the code
email-send-new = Send a new code
email-wait = You can ask for a new code in { $secs } seconds.
email-failed = We could not send the code. Try again, or use another method.
email-wrong = That code did not work. Check the latest email, or ask for a new code.
offer-title = Set up an authenticator app?
offer-text = Email codes work, but an authenticator app is safer and works without waiting for mail. Set one up now?
offer-not-now = Not now, continue

## Account recovery
recovery-title = Account recovery
recovery-waiting = Your request is waiting for an admin. You will get an email when it has been decided; if it is approved, sign in again and set up a new second factor.
recovery-too-soon = Your last recovery request was decided a moment ago. You can ask again in { $minutes } minute(s), or contact your administrator.
recovery-code-sent = We sent a recovery code to your registered address. Enter it to reset your two-step verification; you then set up a new second factor right away.
recovery-code = Recovery code
recovery-confirm = Recover my account
recovery-unavailable = No recovery code could be sent to your registered address. Ask another administrator to reset your two-step verification.
recovery-intro = If you can use neither your authenticator app nor a backup code, ask for your two-step verification to be reset.
recovery-admin = As an administrator you get a recovery code at your registered address.
recovery-decider = An administrator of { $brand } decides on the request.
recovery-ask = Ask for account recovery
recovery-back = Back to entering a code
recovery-wrong = That recovery code did not work.

## Step-up
step-up-title = Confirm it's you
step-up-app-needed-title = Authenticator app needed
step-up-app-needed = This page needs a fresh confirmation with an authenticator app. Sign out and sign in again to set one up.

## Sessions and devices
devices-signed-in = Signed in as <b>{ $user }</b>. Backup codes left: { $left }.
devices-security = <a href="{ $href }">Security settings</a>: your authenticator app, email codes, turning two-step verification on or off.
devices-admin = <a href="{ $href }">Admin console</a>: users' two-step verification, resets, sign-outs.
sessions = Sessions
trusted-devices = Trusted devices
col-device = Device
col-environment = Environment
col-started = Started
col-ip = IP
col-action = Action
col-last-seen = Last seen
col-last-ip = Last IP
col-trusted-until = Trusted until
this-session = (this session)
this-browser = (this browser)
sign-out = Sign out
sign-out-row = Sign out { $device }, started { $started }
revoke = Revoke
revoke-row = Revoke { $device }, last seen { $seen }
backup-codes = Backup codes
new-codes-label = Authenticator code (required to make new codes)
new-codes = Make new backup codes
new-codes-wrong = New backup codes need a current code from your authenticator app.
code-not-accepted = Code not accepted
sign-out-browser = Sign out of this browser
done-session = The session was signed out.
done-device = The device was revoked: it must pass a second factor to sign in again.

## Signed out elsewhere
signed-out-title = You were signed out
signed-out-again = Sign in again
why-revoked = You were signed out because this session was signed out from the sessions and devices page, on this or another browser.
why-reset = You were signed out because an administrator reset your two-step verification. Sign in again to set it up anew.
why-admin = You were signed out because an administrator signed you out everywhere.
why-factor-changed = You were signed out because your second factor was changed or turned off, which signs out every browser.
why-recovered = You were signed out because your account was recovered, which signs out every browser.
why-grace-ended = You were signed out because two-step verification is now required and this browser had not passed it.
why-inactive = You were signed out because you had not signed in for a long time, so your sign-in data was removed.
why-policy = You were signed out because your role or environments no longer allow this session.
why-signed-out = You were signed out because you signed out.
why-other = You were signed out because your session was ended.

## Security settings
security-title = Security
security-signed-in = Signed in as <b>{ $user }</b>.
two-step = Two-step verification
authenticator-app = Authenticator app
app-added = added { $added }
app-used = , last used { $used }
not-set-up = not set up
email-codes = Email codes
not-available = not available
email-on-to = on, to { $address }
off = off
backup-left = Backup codes left
security-required = Two-step verification is required for your account.
security-required-app = Two-step verification is required for your account: set up an app at your next sign-in, or now.
security-optional = Two-step verification is optional here. Turn it on to be asked for a code on every new device.
security-replace = Replace the authenticator app (new phone)
security-set-up = Set up an authenticator app
email-codes-off = Turn email codes off
email-codes-on = Turn email codes on
turn-off = Turn two-step verification off
security-note = Changing or removing a factor asks for a fresh code, signs out your other sessions and sends you an email.
security-devices = Sessions, trusted devices and new backup codes
only-email-title = Email codes are your only second factor
only-email-text = Set up an authenticator app first: two-step verification is required for your account.
required-title = Two-step verification is required
required-text = An environment you use requires two-step verification, so it cannot be turned off.

## Problems
page-missing = This page does not exist.
expired-title = Sign-in expired
expired-text = Your sign-in is no longer waiting for a code. Please sign in again.
refused-title = Request refused
refused-text = This form expired or did not come from this site. Go back and try again.
unavailable = The sign-in service is temporarily unavailable. Nothing was changed.
went-wrong = Something went wrong. Nothing was changed.
problem-forbidden-role = Your role is not allowed to do this here. Ask an administrator.
problem-bad-path = The request path is not allowed.
problem-malformed = The request is malformed.
problem-revoked = Your session has ended. Please sign in again.
problem-bad-login = The sign-in request could not be read. Please try again.
problem-too-large = The request is too large.
problem-member = The member's identity could not be verified.
problem-insecure = The sign-in could not be completed securely. Please contact your administrator.
problem-unavailable = Sign-in is temporarily unavailable. Please try again shortly.
problem-too-many = Too many sign-in attempts. Please wait a minute and try again.
problem-host = This gateway does not serve the requested host.
problem-unreachable = The dashboard is not reachable right now. Please try again shortly.
problem-timeout = The dashboard took too long to answer. Please try again shortly.

status-400 = Bad request
status-401 = Not signed in
status-403 = Forbidden
status-404 = Not found
status-413 = Too large
status-421 = Wrong address
status-429 = Too many requests
status-500 = Gateway error
status-502 = Dashboard unreachable
status-503 = Unavailable
status-504 = Dashboard timed out

## Admin console
admin-users-title = Users
admin-only-title = Admins only
admin-only-text = The admin console is for the admins of this environment.
admin-signed-in = Signed in as <b>{ $user }</b> ({ $role }). Users of { $scope }.
admin-warned = { $count } user(s) below have no second factor and will be signed out when two-step verification becomes mandatory for them.
admin-search = Search
admin-role = Role
admin-no-factor = no second factor
admin-blocked = blocked
admin-filter = Filter
admin-total = { $total } user(s)
admin-page-of = , page { $page } of { $pages }
admin-user = User
admin-environments = Environments
admin-second-factor = Second factor
admin-last-sign-in = Last sign-in
admin-sessions = Sessions
admin-authenticator = authenticator
admin-backup-count = , { $count } backup codes
admin-signed-out-on = : signed out on { $date }
admin-blocked-until = blocked until { $until }
admin-trusted-count = { $count } trusted device(s)
admin-previous = Previous
admin-next = Next
admin-recovery-link = Recovery requests
admin-open-count = ({ $count } open)
admin-activity-link = Activity log
admin-all-users = All users
admin-email = Email for codes
admin-backup-left = Backup codes left
admin-last-mfa = Last second factor
admin-blocked-label = Blocked
admin-until = until { $until }
admin-actions = Actions
admin-reason = Reason (recorded in the activity log)
admin-reset = Reset two-factor authentication
admin-logout = Sign out everywhere
admin-unblock = Unblock
admin-new-email = New address for codes and notices (the old and the new address are told)
admin-change-email = Change address
admin-reset-note = Resetting removes the authenticator, backup codes and trusted devices, signs the user out everywhere and emails them; they set up a second factor again at their next sign-in.
admin-recent = Recent activity
admin-when = When
admin-event = Event
admin-outcome = Outcome
admin-asked = Asked
admin-state = State
admin-by = by { $who }
admin-approve = Approve (reset)
admin-dismiss = Dismiss
admin-no-requests = No recovery requests.
admin-no-user-title = No such user
admin-no-user-text = There is no such user in the environments you administer.
admin-owners-title = Owners only
admin-owners-text = Only an owner acts on admins and owners.
admin-own-title = Not on your own account
admin-own-text = Admins cannot reset or sign out their own account here. Use account recovery.
admin-bad-email-title = Not an email address
admin-bad-email-text = The new address for codes is not a valid email address. Go back and correct it.

## Activity-log exports
exports-title = Activity log
exports-intro = Export the activity log of a period as JSON: sign-ins, second factors, sessions and devices, admin actions, and the exports themselves. Events are kept for { $retention } days; export files are deleted { $expiry } day(s) after they are made. You get an email when an export is ready.
exports-from = From (UTC)
exports-to = To (UTC, included)
exports-events = Events
exports-kind-sign-in = sign-ins
exports-kind-mfa = second factors
exports-kind-session = sessions and devices
exports-kind-admin = admin actions
exports-kind-activity = exports and retention
exports-export = Export
exports-history = Download history
exports-col-period = Period
exports-col-size = Size
exports-col-downloads = Downloads
exports-running = running, { $progress } %
exports-count = { $events } events, { $size }
exports-download-by = { $at } by { $who }
exports-json = JSON
exports-ndjson = JSON lines
exports-none = No exports yet.
exports-refreshing = This page refreshes itself while an export runs.
exports-owners-text = Only owners export the activity log.
exports-bad-period = Not a period to export
exports-not-found = No such export
exports-not-ready = Not ready yet
exports-gone = Export deleted
exports-later = Try again later

## Emails (plain text; the brand starts every subject)
mail-footer = This message was sent by the sign-in protection of { $brand }. It never contains a link to sign in.
mail-footer-code = This message was sent by the sign-in protection of { $brand }. It never contains a link to sign in; nobody from { $brand } will ask you for this code.
mail-support = Need help? Contact { $contact }.
mail-code-is = Your code:
mail-otp-subject = your sign-in code
mail-otp-1 = Someone, hopefully you, entered your password and asked for a sign-in code.
mail-otp-2 = The code works once and expires in { $minutes } minutes.
mail-otp-3 = If this wasn't you, do not share the code and change your password.
mail-device-subject = new device signed in
mail-device-1 = A new device passed two-step verification for your account: { $device }, from { $ip }, at { $when }.
mail-device-2 = If this wasn't you, sign in, revoke the device on the devices page, and change your password.
mail-enrolled-subject = authenticator app set up
mail-enrolled-1 = An authenticator app was set up for two-step verification on your account, and new backup codes were created.
mail-contact-admin = If this wasn't you, contact your administrator now.
mail-codes-subject = new backup codes
mail-codes-1 = New backup codes were created for your account; the previous ones no longer work.
mail-blocked-subject = sign-in codes blocked
mail-blocked-1 = Too many wrong codes were entered for your account. Code entry is blocked until { $until }.
mail-blocked-2 = If this wasn't you, someone may know your password: change it.
mail-enforce-subject = two-step verification becomes mandatory
mail-enforce-1 = Two-step verification becomes mandatory for your account on { $deadline }.
mail-enforce-2 = Set it up at your next sign-in: after your password you will be asked { $asked }. Sessions without it end on that date, on all devices.
mail-enforce-app-or-email = to add an authenticator app, or to confirm with a code sent by email
mail-enforce-app = to add an authenticator app
mail-enforce-email = to confirm with a code sent by email
mail-reset-subject = two-step verification reset
mail-reset-1 = An administrator reset two-step verification for your account: your authenticator app, backup codes and trusted devices no longer work, and you were signed out everywhere.
mail-reset-2 = At your next sign-in you will set up a second factor again.
mail-not-asked = If you did not ask for this, contact your administrator now.
mail-recovery-requested-subject = a user needs account recovery
mail-recovery-requested-1 = { $user } cannot use their second factor and asked for two-step verification to be reset.
mail-recovery-requested-2 = Approve or dismiss the request in the admin console, under Recovery requests. Check with the user first that the request is theirs.
mail-export-subject = your activity-log export is ready
mail-export-1 = The export of the activity log for { $period } is ready: { $events } events.
mail-export-2 = Download it from the Activity log page of the admin console. The file is deleted after a few days.
mail-decided-subject = your recovery request
mail-approved = An administrator approved your recovery request. Sign in again and set up a second factor.
mail-dismissed = An administrator dismissed your recovery request. Contact your administrator if you still cannot sign in.
mail-recovery-code-subject = your account recovery code
mail-recovery-code-1 = Someone, hopefully you, signed in with your password and asked to recover your account because the second factor cannot be used.
mail-recovery-code-2 = Enter this code on the recovery page within { $minutes } minutes. Your second factor is then reset and you set up a new one at once.
mail-recovery-code-3 = If this wasn't you, do not use the code, change your password and tell another administrator.
mail-admin-recovered-subject = an admin recovered their account
mail-admin-recovered-1 = { $user } reset their own two-step verification with a recovery code sent to their registered address, and set up a new second factor.
mail-admin-recovered-2 = If that is unexpected, sign them out from the admin console and check with them.
mail-email-changed-subject = address for sign-in codes changed
mail-email-changed-1 = An administrator changed where sign-in codes and security notices for { $user } are sent: from now on to { $address }.
mail-factor-changed-subject = two-step verification changed
mail-factor-changed-1 = { $what }, from { $device }.
mail-factor-changed-2 = If this was not you, contact your administrator now: someone may have your password and a code.
mail-change-added = An authenticator app was added to your account
mail-change-replaced = Your authenticator app was replaced with a new one
mail-change-off = Two-step verification was turned off for your account
mail-change-email-on = Sign-in codes by email were turned on for your account
mail-change-email-off = Sign-in codes by email were turned off for your account

## Passkeys and security keys
passkey-title = Sign in with a passkey
passkey-intro = Confirm that it is you, <b>{ $user }</b>, with your passkey or security key.
passkey-step-up = This page needs a fresh confirmation, <b>{ $user }</b>: use your passkey or security key.
passkey-use = Use my passkey
passkey-use-app = Use the authenticator app instead
passkey-use-app-instead = Set up an authenticator app instead
passkey-register-title = Create a passkey
passkey-add-title = Add a passkey
passkey-register-intro = Create a passkey for <b>{ $user }</b>: your device's screen lock, fingerprint or face, or a security key. It works only on this site, so a look-alike page cannot use it.
passkey-register-required = Your role signs in with a passkey, <b>{ $user }</b>. Create one now: your device's screen lock, fingerprint or face, or a security key.
passkey-name = Name
passkey-name-hint = So you know it on the sessions page later, such as "MacBook Touch ID".
passkey-create = Create passkey
passkey-needs-script = Passkeys need JavaScript, which is off in this browser. Use another way to confirm below, or turn JavaScript on.
passkey-unsupported = This browser cannot use passkeys. Use another way to confirm below, or another browser.
passkey-failed = The passkey was not used: the request was cancelled or timed out. Try again.
passkey-refused = That passkey did not work. Try again.
passkey-already = This passkey or security key is registered already.
passkey-synced = (synced)
passkey-remove-row = Remove the passkey { $name }
passkey-add = Add a passkey or security key
passkeys = Passkeys and security keys
passkeys-none = None yet.
choose-passkey = Use a passkey or security key
choose-passkey-note = recommended: it cannot be phished
step-up-passkey-needed-title = Passkey needed
step-up-passkey-needed = This page needs a fresh confirmation with a passkey. Sign out and sign in again to create one.
done-passkey = The passkey was added.
done-passkey-removed = The passkey was removed.
col-name = Name
col-added = Added
col-last-used = Last used
remove = Remove
admin-passkeys = { $count } passkey(s)
passkeys-manage = add or remove them on the sessions page
mail-change-passkey-added = A passkey or security key was added to your account
mail-change-passkey-removed = A passkey or security key was removed from your account
passkey-last = This is your last passkey, and your account needs one: add another before you remove it.
