# mfagate's words in English. Keys are grouped by page; `$name` values are filled in by the
# gateway (HTML-escaped on pages). Markup (<b>) is allowed on pages, never in email keys.

## Every page
page-secured-by = beveiligd door mfagate
nav-account = Je account
nav-security = Beveiliging
nav-sessions = Sessies en apparaten
nav-admin = Beheerconsole
nav-leave = Deze pagina verlaten
back-to = Terug naar { $brand }
your-sessions = Je sessies en apparaten
support = Hulp nodig? Neem contact op met { $contact }.
time-zone = Tijden worden weergegeven in { $zone }.

## Shared form parts
code-6 = 6-cijferige code
code-from-app = 6-cijferige code uit de app
code-from-email = Code uit de e-mail
use-app-instead = Liever de authenticator-app gebruiken
trust-label = Deze browser { $days } dagen vertrouwen
trust-hint = Vink dit uit op een gedeelde computer: dan wordt hier bij de volgende keer inloggen opnieuw om een code gevraagd.
continue = Doorgaan
back = Terug
verify = Verifiëren
confirm = Bevestigen
sign-in = Inloggen
none = geen
never = nooit
all = alle

## Choosing a method
choose-title = Bevestig dat jij het bent
choose-intro = Je wachtwoord is geaccepteerd. Kies hoe je bevestigt dat jij het bent, <b>{ $user }</b>:
choose-app = Authenticator-app instellen
choose-app-note = aanbevolen
choose-email = Stuur me een code per e-mail
no-method-title = Geen tweede factor beschikbaar
no-method-text = Geen van de inlogmethoden die hier zijn toegestaan, kan met je account worden gebruikt. Neem contact op met je beheerder.

## Setting up an authenticator app
enroll-title = Stel je authenticator-app in
enroll-replacing = Stel de nieuwe authenticator-app in voor <b>{ $user }</b>; de oude blijft werken totdat de nieuwe is bevestigd.
enroll-opting-in = Zet tweestapsverificatie aan voor <b>{ $user }</b> met een authenticator-app.
enroll-required = Om in te loggen als <b>{ $user }</b> heb je een authenticator-app nodig.
enroll-scan = Scan deze code met Google Authenticator, Microsoft Authenticator, 1Password of een andere TOTP-app.
enroll-qr-alt = QR-code voor je authenticator-app
enroll-on-phone = Bekijk je dit op de telefoon met de app?
enroll-open-app = Openen in je authenticator-app
enroll-cant-scan = Lukt scannen niet? Voer dan deze instelsleutel in:
enroll-activate = Activeren
enroll-wrong = Die code klopt niet. Controleer de tijd op je telefoon en probeer de huidige code.

## Backup codes
codes-title = Je back-upcodes
codes-intro = Bewaar deze back-upcodes op een veilige plek. Met elke code kun je één keer inloggen als je je telefoon kwijtraakt. <b>Ze worden alleen nu getoond.</b>
codes-download = Downloaden als tekst
codes-saved = Ik heb ze bewaard, doorgaan
codes-file-name = back-upcodes.txt
codes-file =
    Back-upcodes voor { $brand } (tweestapsverificatie door mfagate)
    Account: { $user }
    Aangemaakt: { $made }

    Met elke code log je één keer in, in plaats van met een code uit je authenticator-app. Als je nieuwe codes aanmaakt, vervallen deze codes. Bewaar dit bestand op een veilige plek, niet bij je wachtwoord.

## Entering a code
verify-title = Voer je code in
verify-intro = Voer de code uit je authenticator-app in om het inloggen als <b>{ $user }</b> te voltooien.
verify-step-up = Deze pagina vraagt om een nieuwe bevestiging. Voer de code uit je authenticator-app in, <b>{ $user }</b>.
verify-use-email = Stuur me liever een code per e-mail
verify-use-backup = Liever een back-upcode gebruiken
verify-cant = Ik kan mijn authenticator niet gebruiken
code-wrong = Die code werkte niet. Wacht op een nieuwe code en probeer het opnieuw.
tries-left =
    { $left ->
        [one] Nog 1 poging voordat het invoeren van codes een paar minuten wordt gepauzeerd.
       *[other] Nog { $left } pogingen voordat het invoeren van codes een paar minuten wordt gepauzeerd.
    }
blocked-title = Te veel onjuiste codes
blocked-text = Voor je veiligheid is het invoeren van codes geblokkeerd tot { $until }. Probeer het daarna opnieuw.
confirmed-title = Al bevestigd
confirmed-text = Je tweede factor voor deze inlogpoging is al bevestigd. Je hoeft verder niets in te voeren.

## Backup code sign-in
backup-title = Back-upcode gebruiken
backup-intro = Voer een van je back-upcodes in. Elke code werkt één keer.
backup-label = Back-upcode
backup-wrong = Die back-upcode werkte niet.

## Email codes
email-title = Inloggen met een code per e-mail
email-sent = We hebben een 6-cijferige code gestuurd naar <b>{ $address }</b>. De code werkt één keer en verloopt over { $minutes } minuten.
email-will-send = We sturen een 6-cijferige code naar <b>{ $address }</b>, het e-mailadres van je account.
email-send = Code versturen
email-send-new = Nieuwe code versturen
email-wait = Je kunt over { $secs } seconden een nieuwe code aanvragen.
email-failed = We konden de code niet versturen. Probeer het opnieuw of gebruik een andere methode.
email-wrong = Die code werkte niet. Controleer de meest recente e-mail of vraag een nieuwe code aan.
offer-title = Authenticator-app instellen?
offer-text = Codes per e-mail werken, maar een authenticator-app is veiliger en je hoeft niet op een e-mail te wachten. Nu instellen?
offer-not-now = Niet nu, doorgaan

## Account recovery
recovery-title = Accountherstel
recovery-waiting = Je verzoek wacht op een beheerder. Je krijgt een e-mail zodra erover is beslist; als het is goedgekeurd, log je opnieuw in en stel je een nieuwe tweede factor in.
recovery-too-soon =
    Over je vorige herstelverzoek is zojuist beslist. Je kunt over { $minutes ->
        [one] { $minutes } minuut
       *[other] { $minutes } minuten
    } opnieuw een verzoek indienen, of neem contact op met je beheerder.
recovery-code-sent = We hebben een herstelcode naar je geregistreerde adres gestuurd. Voer die in om je tweestapsverificatie te resetten; daarna stel je meteen een nieuwe tweede factor in.
recovery-code = Herstelcode
recovery-confirm = Mijn account herstellen
recovery-unavailable = Er kon geen herstelcode naar je geregistreerde adres worden gestuurd. Vraag een andere beheerder om je tweestapsverificatie te resetten.
recovery-intro = Kun je je authenticator-app en je back-upcodes allebei niet gebruiken? Vraag dan om je tweestapsverificatie te resetten.
recovery-admin = Als beheerder krijg je een herstelcode op je geregistreerde adres.
recovery-decider = Een beheerder van { $brand } beslist over het verzoek.
recovery-ask = Accountherstel aanvragen
recovery-back = Terug naar code invoeren
recovery-wrong = Die herstelcode werkte niet.

## Step-up
step-up-title = Bevestig dat jij het bent
step-up-app-needed-title = Authenticator-app nodig
step-up-app-needed = Deze pagina vraagt om een nieuwe bevestiging met een authenticator-app. Log uit en log opnieuw in om er een in te stellen.

## Sessions and devices
devices-signed-in = Ingelogd als <b>{ $user }</b>. Resterende back-upcodes: { $left }.
devices-security = <a href="{ $href }">Beveiligingsinstellingen</a>: je authenticator-app, codes per e-mail, tweestapsverificatie aan- of uitzetten.
devices-admin = <a href="{ $href }">Beheerconsole</a>: tweestapsverificatie van gebruikers, resets, gebruikers uitloggen.
sessions = Sessies
trusted-devices = Vertrouwde apparaten
col-device = Apparaat
col-environment = Omgeving
col-started = Gestart
col-ip = IP
col-action = Actie
col-last-seen = Laatst gezien
col-last-ip = Laatste IP
col-trusted-until = Vertrouwd tot
this-session = (deze sessie)
this-browser = (deze browser)
sign-out = Uitloggen
sign-out-row = { $device } uitloggen, gestart { $started }
revoke = Intrekken
revoke-row = { $device } intrekken, laatst gezien { $seen }
backup-codes = Back-upcodes
new-codes-label = Authenticatorcode (nodig om nieuwe codes aan te maken)
new-codes = Nieuwe back-upcodes aanmaken
new-codes-wrong = Voor nieuwe back-upcodes is een actuele code uit je authenticator-app nodig.
code-not-accepted = Code niet geaccepteerd
sign-out-browser = Uitloggen in deze browser
done-session = De sessie is beëindigd.
done-device = Het apparaat is ingetrokken: het moet opnieuw een tweede factor doorlopen om in te loggen.

## Signed out elsewhere
signed-out-title = Je bent uitgelogd
signed-out-again = Opnieuw inloggen
why-revoked = Je bent uitgelogd omdat deze sessie is beëindigd via de pagina met sessies en apparaten, in deze of een andere browser.
why-reset = Je bent uitgelogd omdat een beheerder je tweestapsverificatie heeft gereset. Log opnieuw in om die opnieuw in te stellen.
why-admin = Je bent uitgelogd omdat een beheerder je overal heeft uitgelogd.
why-factor-changed = Je bent uitgelogd omdat je tweede factor is gewijzigd of uitgezet; daardoor word je in alle browsers uitgelogd.
why-recovered = Je bent uitgelogd omdat je account is hersteld; daardoor word je in alle browsers uitgelogd.
why-grace-ended = Je bent uitgelogd omdat tweestapsverificatie nu verplicht is en deze browser die nog niet had doorlopen.
why-inactive = Je bent uitgelogd omdat je lange tijd niet hebt ingelogd, waardoor je inloggegevens zijn verwijderd.
why-policy = Je bent uitgelogd omdat je rol of omgevingen deze sessie niet meer toestaan.
why-signed-out = Je bent uitgelogd omdat je zelf hebt uitgelogd.
why-other = Je bent uitgelogd omdat je sessie is beëindigd.

## Security settings
security-title = Beveiliging
security-signed-in = Ingelogd als <b>{ $user }</b>.
two-step = Tweestapsverificatie
authenticator-app = Authenticator-app
app-added = toegevoegd op { $added }
app-used = , laatst gebruikt op { $used }
not-set-up = niet ingesteld
email-codes = Codes per e-mail
not-available = niet beschikbaar
email-on-to = aan, naar { $address }
off = uit
backup-left = Resterende back-upcodes
security-required = Tweestapsverificatie is verplicht voor je account.
security-required-app = Tweestapsverificatie is verplicht voor je account: stel een app in wanneer je de volgende keer inlogt, of nu meteen.
security-optional = Tweestapsverificatie is hier optioneel. Zet het aan om op elk nieuw apparaat om een code gevraagd te worden.
security-replace = Authenticator-app vervangen (nieuwe telefoon)
security-set-up = Authenticator-app instellen
email-codes-off = Codes per e-mail uitzetten
email-codes-on = Codes per e-mail aanzetten
turn-off = Tweestapsverificatie uitzetten
security-note = Voor het wijzigen of verwijderen van een factor is een nieuwe code nodig; je andere sessies worden dan uitgelogd en je krijgt een e-mail.
security-devices = Sessies, vertrouwde apparaten en nieuwe back-upcodes
only-email-title = Codes per e-mail zijn je enige tweede factor
only-email-text = Stel eerst een authenticator-app in: tweestapsverificatie is verplicht voor je account.
required-title = Tweestapsverificatie is verplicht
required-text = Een omgeving die je gebruikt vereist tweestapsverificatie, dus die kan niet worden uitgezet.

## Problems
page-missing = Deze pagina bestaat niet.
expired-title = Inloggen verlopen
expired-text = Je inlogpoging wacht niet meer op een code. Log opnieuw in.
refused-title = Verzoek geweigerd
refused-text = Dit formulier is verlopen of komt niet van deze site. Ga terug en probeer het opnieuw.
unavailable = De inlogdienst is tijdelijk niet beschikbaar. Er is niets gewijzigd.
went-wrong = Er is iets misgegaan. Er is niets gewijzigd.
problem-forbidden-role = Met je rol mag je dit hier niet doen. Vraag het aan een beheerder.
problem-bad-path = Het pad van het verzoek is niet toegestaan.
problem-malformed = Het verzoek is ongeldig.
problem-revoked = Je sessie is beëindigd. Log opnieuw in.
problem-bad-login = Het inlogverzoek kon niet worden gelezen. Probeer het opnieuw.
problem-too-large = Het verzoek is te groot.
problem-member = De identiteit van het lid kon niet worden geverifieerd.
problem-insecure = Het inloggen kon niet veilig worden voltooid. Neem contact op met je beheerder.
problem-unavailable = Inloggen is tijdelijk niet mogelijk. Probeer het zo opnieuw.
problem-too-many = Te veel inlogpogingen. Wacht een minuut en probeer het opnieuw.
problem-host = Deze gateway bedient de gevraagde host niet.
problem-unreachable = Het dashboard is nu niet bereikbaar. Probeer het zo opnieuw.
problem-timeout = Het dashboard reageerde niet op tijd. Probeer het zo opnieuw.

status-400 = Ongeldig verzoek
status-401 = Niet ingelogd
status-403 = Geweigerd
status-404 = Niet gevonden
status-413 = Te groot
status-421 = Verkeerd adres
status-429 = Te veel verzoeken
status-500 = Gatewayfout
status-502 = Dashboard onbereikbaar
status-503 = Niet beschikbaar
status-504 = Dashboard reageert te traag

## Admin console
admin-users-title = Gebruikers
admin-only-title = Alleen voor beheerders
admin-only-text = De beheerconsole is bedoeld voor de beheerders van deze omgeving.
admin-signed-in = Ingelogd als <b>{ $user }</b> ({ $role }). Gebruikers van { $scope }.
admin-warned =
    { $count ->
        [one] { $count } gebruiker hieronder heeft geen tweede factor en wordt uitgelogd zodra tweestapsverificatie voor die gebruiker verplicht wordt.
       *[other] { $count } gebruikers hieronder hebben geen tweede factor en worden uitgelogd zodra tweestapsverificatie voor hen verplicht wordt.
    }
admin-search = Zoeken
admin-role = Rol
admin-no-factor = geen tweede factor
admin-blocked = geblokkeerd
admin-filter = Filteren
admin-total =
    { $total ->
        [one] { $total } gebruiker
       *[other] { $total } gebruikers
    }
admin-page-of = , pagina { $page } van { $pages }
admin-user = Gebruiker
admin-environments = Omgevingen
admin-second-factor = Tweede factor
admin-last-sign-in = Laatst ingelogd
admin-sessions = Sessies
admin-authenticator = authenticator
admin-backup-count = , { $count } back-upcodes
admin-signed-out-on = : wordt uitgelogd op { $date }
admin-blocked-until = geblokkeerd tot { $until }
admin-trusted-count =
    { $count ->
        [one] { $count } vertrouwd apparaat
       *[other] { $count } vertrouwde apparaten
    }
admin-previous = Vorige
admin-next = Volgende
admin-recovery-link = Herstelverzoeken
admin-open-count = ({ $count } open)
admin-activity-link = Activiteitenlog
admin-all-users = Alle gebruikers
admin-email = E-mailadres voor codes
admin-backup-left = Resterende back-upcodes
admin-last-mfa = Laatste tweede factor
admin-blocked-label = Geblokkeerd
admin-until = tot { $until }
admin-actions = Acties
admin-reason = Reden (wordt vastgelegd in het activiteitenlog)
admin-reset = Tweestapsverificatie resetten
admin-logout = Overal uitloggen
admin-unblock = Deblokkeren
admin-new-email = Nieuw adres voor codes en meldingen (het oude en het nieuwe adres krijgen hierover bericht)
admin-change-email = Adres wijzigen
admin-reset-note = Een reset verwijdert de authenticator, back-upcodes en vertrouwde apparaten, logt de gebruiker overal uit en stuurt de gebruiker een e-mail; bij de volgende keer inloggen stelt de gebruiker opnieuw een tweede factor in.
admin-recent = Recente activiteit
admin-when = Wanneer
admin-event = Gebeurtenis
admin-outcome = Resultaat
admin-asked = Aangevraagd
admin-state = Status
admin-by = door { $who }
admin-approve = Goedkeuren (reset)
admin-dismiss = Afwijzen
admin-no-requests = Geen herstelverzoeken.
admin-no-user-title = Gebruiker niet gevonden
admin-no-user-text = Deze gebruiker bestaat niet in de omgevingen die je beheert.
admin-owners-title = Alleen voor eigenaren
admin-owners-text = Alleen een eigenaar kan acties uitvoeren voor beheerders en eigenaren.
admin-own-title = Niet voor je eigen account
admin-own-text = Beheerders kunnen hun eigen account hier niet resetten of uitloggen. Gebruik accountherstel.
admin-bad-email-title = Geen e-mailadres
admin-bad-email-text = Het nieuwe adres voor codes is geen geldig e-mailadres. Ga terug en corrigeer het.

## Activity-log exports
exports-title = Activiteitenlog
exports-intro =
    Exporteer het activiteitenlog van een periode als JSON: inlogpogingen, tweede factoren, sessies en apparaten, beheerdersacties en de exports zelf. Gebeurtenissen worden { $retention } dagen bewaard; exportbestanden worden { $expiry ->
        [one] { $expiry } dag
       *[other] { $expiry } dagen
    } na het aanmaken verwijderd. Je krijgt een e-mail zodra een export klaar is.
exports-from = Van (UTC)
exports-to = Tot en met (UTC)
exports-events = Gebeurtenissen
exports-kind-sign-in = inlogpogingen
exports-kind-mfa = tweede factoren
exports-kind-session = sessies en apparaten
exports-kind-admin = beheerdersacties
exports-kind-activity = exports en bewaartermijn
exports-export = Exporteren
exports-history = Downloadgeschiedenis
exports-col-period = Periode
exports-col-size = Grootte
exports-col-downloads = Downloads
exports-running = bezig, { $progress } %
exports-count = { $events } gebeurtenissen, { $size }
exports-download-by = { $at } door { $who }
exports-json = JSON
exports-ndjson = JSON lines
exports-none = Nog geen exports.
exports-refreshing = Deze pagina ververst zichzelf zolang er een export loopt.
exports-owners-text = Alleen eigenaren kunnen het activiteitenlog exporteren.
exports-bad-period = Geen geldige periode om te exporteren
exports-not-found = Export niet gevonden
exports-not-ready = Nog niet klaar
exports-gone = Export verwijderd
exports-later = Probeer het later opnieuw

## Emails (plain text; the brand starts every subject)
mail-footer = Dit bericht is verstuurd door de inlogbeveiliging van { $brand }. Het bevat nooit een link om in te loggen.
mail-footer-code = Dit bericht is verstuurd door de inlogbeveiliging van { $brand }. Het bevat nooit een link om in te loggen; niemand van { $brand } zal je om deze code vragen.
mail-support = Hulp nodig? Neem contact op met { $contact }.
mail-code-is = Je code:
mail-otp-subject = je inlogcode
mail-otp-1 = Iemand, hopelijk jij, heeft je wachtwoord ingevoerd en een inlogcode aangevraagd.
mail-otp-2 = De code werkt één keer en verloopt over { $minutes } minuten.
mail-otp-3 = Was jij dit niet? Deel de code dan met niemand en wijzig je wachtwoord.
mail-device-subject = nieuw apparaat ingelogd
mail-device-1 = Een nieuw apparaat heeft de tweestapsverificatie voor je account doorlopen: { $device }, vanaf { $ip }, op { $when }.
mail-device-2 = Was jij dit niet? Log dan in, trek het apparaat in op de pagina met apparaten en wijzig je wachtwoord.
mail-enrolled-subject = authenticator-app ingesteld
mail-enrolled-1 = Er is een authenticator-app ingesteld voor tweestapsverificatie op je account, en er zijn nieuwe back-upcodes aangemaakt.
mail-contact-admin = Was jij dit niet? Neem dan direct contact op met je beheerder.
mail-codes-subject = nieuwe back-upcodes
mail-codes-1 = Er zijn nieuwe back-upcodes aangemaakt voor je account; de vorige werken niet meer.
mail-blocked-subject = inlogcodes geblokkeerd
mail-blocked-1 = Er zijn te veel onjuiste codes ingevoerd voor je account. Het invoeren van codes is geblokkeerd tot { $until }.
mail-blocked-2 = Was jij dit niet? Dan kent iemand misschien je wachtwoord: wijzig het.
mail-enforce-subject = tweestapsverificatie wordt verplicht
mail-enforce-1 = Tweestapsverificatie wordt op { $deadline } verplicht voor je account.
mail-enforce-2 = Stel het in wanneer je de volgende keer inlogt: na je wachtwoord word je gevraagd { $asked }. Sessies zonder tweestapsverificatie worden op die datum beëindigd, op alle apparaten.
mail-enforce-app-or-email = een authenticator-app toe te voegen, of te bevestigen met een code die per e-mail wordt verstuurd
mail-enforce-app = een authenticator-app toe te voegen
mail-enforce-email = te bevestigen met een code die per e-mail wordt verstuurd
mail-reset-subject = tweestapsverificatie gereset
mail-reset-1 = Een beheerder heeft de tweestapsverificatie voor je account gereset: je authenticator-app, back-upcodes en vertrouwde apparaten werken niet meer, en je bent overal uitgelogd.
mail-reset-2 = Bij je volgende keer inloggen stel je opnieuw een tweede factor in.
mail-not-asked = Heb je hier niet om gevraagd? Neem dan direct contact op met je beheerder.
mail-recovery-requested-subject = een gebruiker heeft accountherstel nodig
mail-recovery-requested-1 = { $user } kan de eigen tweede factor niet gebruiken en heeft gevraagd om de tweestapsverificatie te resetten.
mail-recovery-requested-2 = Keur het verzoek goed of wijs het af in de beheerconsole, onder Herstelverzoeken. Ga eerst bij de gebruiker na of het verzoek echt van die persoon komt.
mail-export-subject = je export van het activiteitenlog is klaar
mail-export-1 = De export van het activiteitenlog voor { $period } is klaar: { $events } gebeurtenissen.
mail-export-2 = Download de export via de pagina Activiteitenlog in de beheerconsole. Het bestand wordt na een paar dagen verwijderd.
mail-decided-subject = je herstelverzoek
mail-approved = Een beheerder heeft je herstelverzoek goedgekeurd. Log opnieuw in en stel een tweede factor in.
mail-dismissed = Een beheerder heeft je herstelverzoek afgewezen. Neem contact op met je beheerder als je nog steeds niet kunt inloggen.
mail-recovery-code-subject = je code voor accountherstel
mail-recovery-code-1 = Iemand, hopelijk jij, heeft met je wachtwoord ingelogd en gevraagd om je account te herstellen omdat de tweede factor niet kan worden gebruikt.
mail-recovery-code-2 = Voer deze code binnen { $minutes } minuten in op de herstelpagina. Je tweede factor wordt dan gereset en je stelt meteen een nieuwe in.
mail-recovery-code-3 = Was jij dit niet? Gebruik de code dan niet, wijzig je wachtwoord en laat het een andere beheerder weten.
mail-admin-recovered-subject = een beheerder heeft het eigen account hersteld
mail-admin-recovered-1 = { $user } heeft de eigen tweestapsverificatie gereset met een herstelcode die naar het geregistreerde adres is gestuurd, en een nieuwe tweede factor ingesteld.
mail-admin-recovered-2 = Is dat onverwacht? Log deze gebruiker dan uit via de beheerconsole en ga bij die persoon na wat er is gebeurd.
mail-email-changed-subject = adres voor inlogcodes gewijzigd
mail-email-changed-1 = Een beheerder heeft gewijzigd waar inlogcodes en beveiligingsmeldingen voor { $user } naartoe worden gestuurd: vanaf nu naar { $address }.
mail-factor-changed-subject = tweestapsverificatie gewijzigd
mail-factor-changed-1 = { $what }, vanaf { $device }.
mail-factor-changed-2 = Was jij dit niet? Neem dan direct contact op met je beheerder: iemand heeft mogelijk je wachtwoord en een code.
mail-change-added = Er is een authenticator-app aan je account toegevoegd
mail-change-replaced = Je authenticator-app is vervangen door een nieuwe
mail-change-off = Tweestapsverificatie is uitgezet voor je account
mail-change-email-on = Inlogcodes per e-mail zijn aangezet voor je account
mail-change-email-off = Inlogcodes per e-mail zijn uitgezet voor je account

## Passkeys and security keys
passkey-title = Inloggen met een passkey
passkey-intro = Bevestig dat u het bent, <b>{ $user }</b>, met uw passkey of beveiligingssleutel.
passkey-step-up = Deze pagina vraagt om een nieuwe bevestiging, <b>{ $user }</b>: gebruik uw passkey of beveiligingssleutel.
passkey-use = Mijn passkey gebruiken
passkey-use-app = In plaats daarvan de authenticator-app gebruiken
passkey-use-app-instead = In plaats daarvan een authenticator-app instellen
passkey-register-title = Passkey maken
passkey-add-title = Passkey toevoegen
passkey-register-intro = Maak een passkey voor <b>{ $user }</b>: de schermvergrendeling, vingerafdruk of het gezicht op uw apparaat, of een beveiligingssleutel. Hij werkt alleen op deze site, dus een nagemaakte pagina kan hem niet gebruiken.
passkey-register-required = Uw rol logt in met een passkey, <b>{ $user }</b>. Maak er nu een: de schermvergrendeling, vingerafdruk of het gezicht op uw apparaat, of een beveiligingssleutel.
passkey-name = Naam
passkey-name-hint = Zodat u hem later herkent op de sessiepagina, bijvoorbeeld "MacBook Touch ID".
passkey-create = Passkey maken
passkey-needs-script = Passkeys hebben JavaScript nodig, dat in deze browser uit staat. Bevestig hieronder op een andere manier, of zet JavaScript aan.
passkey-unsupported = Deze browser kan geen passkeys gebruiken. Bevestig hieronder op een andere manier, of gebruik een andere browser.
passkey-failed = De passkey is niet gebruikt: het verzoek is geannuleerd of verlopen. Probeer het opnieuw.
passkey-refused = Die passkey werkte niet. Probeer het opnieuw.
passkey-already = Deze passkey of beveiligingssleutel is al geregistreerd.
passkey-synced = (gesynchroniseerd)
passkey-remove-row = De passkey { $name } verwijderen
passkey-add = Een passkey of beveiligingssleutel toevoegen
passkeys = Passkeys en beveiligingssleutels
passkeys-none = Nog geen.
choose-passkey = Een passkey of beveiligingssleutel gebruiken
choose-passkey-note = aanbevolen: niet te phishen
step-up-passkey-needed-title = Passkey nodig
step-up-passkey-needed = Deze pagina vraagt om een nieuwe bevestiging met een passkey. Log uit en opnieuw in om er een te maken.
done-passkey = De passkey is toegevoegd.
done-passkey-removed = De passkey is verwijderd.
col-name = Naam
col-added = Toegevoegd
col-last-used = Laatst gebruikt
remove = Verwijderen
admin-passkeys = { $count } passkey(s)
passkeys-manage = toevoegen of verwijderen op de sessiepagina
mail-change-passkey-added = Er is een passkey of beveiligingssleutel aan uw account toegevoegd
mail-change-passkey-removed = Er is een passkey of beveiligingssleutel van uw account verwijderd
passkey-last = Dit is uw laatste passkey en uw account heeft er een nodig: voeg er eerst een toe voordat u deze verwijdert.
