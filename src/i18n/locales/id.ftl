# mfagate's words in English. Keys are grouped by page; `$name` values are filled in by the
# gateway (HTML-escaped on pages). Markup (<b>) is allowed on pages, never in email keys.

## Every page
page-secured-by = diamankan oleh mfagate
nav-account = Akun Anda
nav-security = Keamanan
nav-sessions = Sesi dan perangkat
nav-admin = Konsol admin
nav-leave = Tinggalkan halaman ini
back-to = Kembali ke { $brand }
your-sessions = Sesi dan perangkat Anda
support = Butuh bantuan? Hubungi { $contact }.
time-zone = Waktu ditampilkan dalam { $zone }.

## Shared form parts
code-6 = Kode 6 digit
code-from-app = Kode 6 digit dari aplikasi
code-from-email = Kode dari email
use-app-instead = Gunakan aplikasi autentikator saja
trust-label = Percayai browser ini selama { $days } hari
trust-hint = Jangan dicentang di komputer bersama: saat masuk berikutnya di sini, kode akan diminta lagi.
continue = Lanjutkan
back = Kembali
verify = Verifikasi
confirm = Konfirmasi
sign-in = Masuk
none = tidak ada
never = belum pernah
all = semua

## Choosing a method
choose-title = Konfirmasi bahwa ini Anda
choose-intro = Kata sandi Anda diterima. Pilih cara untuk mengonfirmasi bahwa ini Anda, <b>{ $user }</b>:
choose-app = Siapkan aplikasi autentikator
choose-app-note = disarankan
choose-email = Kirimi saya kode lewat email
no-method-title = Tidak ada faktor kedua yang tersedia
no-method-text = Tidak satu pun metode masuk yang diizinkan di sini dapat digunakan dengan akun Anda. Silakan hubungi administrator Anda.

## Setting up an authenticator app
enroll-title = Siapkan aplikasi autentikator Anda
enroll-replacing = Siapkan aplikasi autentikator baru untuk <b>{ $user }</b>; aplikasi yang lama tetap berfungsi sampai yang baru dikonfirmasi.
enroll-opting-in = Aktifkan verifikasi dua langkah untuk <b>{ $user }</b> dengan aplikasi autentikator.
enroll-required = Untuk masuk sebagai <b>{ $user }</b>, diperlukan aplikasi autentikator.
enroll-scan = Pindai kode ini dengan Google Authenticator, Microsoft Authenticator, 1Password, atau aplikasi TOTP lainnya.
enroll-qr-alt = Kode QR untuk aplikasi autentikator Anda
enroll-on-phone = Membuka halaman ini di ponsel yang ada aplikasinya?
enroll-open-app = Buka di aplikasi autentikator
enroll-cant-scan = Tidak bisa memindai? Masukkan kunci penyiapan ini:
enroll-activate = Aktifkan
enroll-wrong = Kode tersebut tidak cocok. Periksa jam di ponsel Anda, lalu coba kode yang berlaku saat ini.

## Backup codes
codes-title = Kode cadangan Anda
codes-intro = Simpan kode cadangan ini di tempat yang aman. Jika ponsel Anda hilang, setiap kode dapat digunakan satu kali untuk masuk. <b>Kode ini hanya ditampilkan sekarang.</b>
codes-download = Unduh sebagai teks
codes-saved = Sudah saya simpan, lanjutkan
codes-file-name = kode-cadangan.txt
codes-file =
    Kode cadangan untuk { $brand } (verifikasi dua langkah oleh mfagate)
    Akun: { $user }
    Dibuat: { $made }

    Setiap kode dapat digunakan satu kali untuk masuk, sebagai pengganti kode dari aplikasi autentikator Anda. Membuat kode baru akan membatalkan kode-kode ini. Simpan file ini di tempat yang aman, terpisah dari kata sandi Anda.

## Entering a code
verify-title = Masukkan kode Anda
verify-intro = Masukkan kode dari aplikasi autentikator Anda untuk menyelesaikan proses masuk sebagai <b>{ $user }</b>.
verify-step-up = Halaman ini memerlukan konfirmasi ulang. Masukkan kode dari aplikasi autentikator Anda, <b>{ $user }</b>.
verify-use-email = Kirimi saya kode lewat email saja
verify-use-backup = Gunakan kode cadangan saja
verify-cant = Saya tidak dapat menggunakan autentikator
code-wrong = Kode tersebut tidak berhasil. Tunggu kode baru, lalu coba lagi.
tries-left =
    { $left ->
        [one] Tersisa 1 percobaan sebelum pengisian kode dijeda selama beberapa menit.
       *[other] Tersisa { $left } percobaan sebelum pengisian kode dijeda selama beberapa menit.
    }
blocked-title = Terlalu banyak kode yang salah
blocked-text = Demi keamanan Anda, pengisian kode diblokir hingga { $until }. Silakan coba lagi setelah itu.
confirmed-title = Sudah dikonfirmasi
confirmed-text = Faktor kedua Anda untuk proses masuk ini sudah dikonfirmasi. Tidak ada lagi yang perlu dimasukkan.

## Backup code sign-in
backup-title = Gunakan kode cadangan
backup-intro = Masukkan salah satu kode cadangan Anda. Setiap kode hanya berlaku satu kali.
backup-label = Kode cadangan
backup-wrong = Kode cadangan tersebut tidak berhasil.

## Email codes
email-title = Masuk dengan kode email
email-sent = Kami telah mengirim kode 6 digit ke <b>{ $address }</b>. Kode ini hanya berlaku satu kali dan kedaluwarsa dalam { $minutes } menit.
email-will-send = Kami akan mengirim kode 6 digit lewat email ke <b>{ $address }</b>, alamat yang terdaftar di akun Anda.
email-send = Kirim kode
email-send-new = Kirim kode baru
email-wait = Anda dapat meminta kode baru dalam { $secs } detik.
email-failed = Kami tidak dapat mengirim kode. Coba lagi, atau gunakan metode lain.
email-wrong = Kode tersebut tidak berhasil. Periksa email terbaru, atau minta kode baru.
offer-title = Siapkan aplikasi autentikator?
offer-text = Kode email memang berfungsi, tetapi aplikasi autentikator lebih aman dan dapat digunakan tanpa menunggu email. Siapkan sekarang?
offer-not-now = Nanti saja, lanjutkan

## Account recovery
recovery-title = Pemulihan akun
recovery-waiting = Permintaan Anda sedang menunggu keputusan admin. Anda akan menerima email setelah permintaan diputuskan; jika disetujui, masuk lagi dan siapkan faktor kedua yang baru.
recovery-too-soon = Permintaan pemulihan terakhir Anda baru saja diputuskan. Anda dapat mengajukannya lagi dalam { $minutes } menit, atau hubungi administrator Anda.
recovery-code-sent = Kami telah mengirim kode pemulihan ke alamat terdaftar Anda. Masukkan kode tersebut untuk mengatur ulang verifikasi dua langkah Anda; setelah itu Anda langsung menyiapkan faktor kedua yang baru.
recovery-code = Kode pemulihan
recovery-confirm = Pulihkan akun saya
recovery-unavailable = Kode pemulihan tidak dapat dikirim ke alamat terdaftar Anda. Minta administrator lain untuk mengatur ulang verifikasi dua langkah Anda.
recovery-intro = Jika Anda tidak dapat menggunakan aplikasi autentikator maupun kode cadangan, ajukan permintaan agar verifikasi dua langkah Anda diatur ulang.
recovery-admin = Sebagai administrator, Anda akan menerima kode pemulihan di alamat terdaftar Anda.
recovery-decider = Administrator { $brand } akan memutuskan permintaan ini.
recovery-ask = Ajukan pemulihan akun
recovery-back = Kembali memasukkan kode
recovery-wrong = Kode pemulihan tersebut tidak berhasil.

## Step-up
step-up-title = Konfirmasi bahwa ini Anda
step-up-app-needed-title = Aplikasi autentikator diperlukan
step-up-app-needed = Halaman ini memerlukan konfirmasi ulang dengan aplikasi autentikator. Keluar, lalu masuk lagi untuk menyiapkannya.

## Sessions and devices
devices-signed-in = Masuk sebagai <b>{ $user }</b>. Sisa kode cadangan: { $left }.
devices-security = <a href="{ $href }">Pengaturan keamanan</a>: aplikasi autentikator, kode email, serta mengaktifkan atau menonaktifkan verifikasi dua langkah.
devices-admin = <a href="{ $href }">Konsol admin</a>: verifikasi dua langkah pengguna, pengaturan ulang, dan mengeluarkan pengguna.
sessions = Sesi
trusted-devices = Perangkat tepercaya
col-device = Perangkat
col-environment = Lingkungan
col-started = Dimulai
col-ip = IP
col-action = Tindakan
col-last-seen = Terakhir terlihat
col-last-ip = IP terakhir
col-trusted-until = Tepercaya hingga
this-session = (sesi ini)
this-browser = (browser ini)
sign-out = Keluar
sign-out-row = Keluar dari { $device }, dimulai { $started }
revoke = Cabut
revoke-row = Cabut { $device }, terakhir terlihat { $seen }
backup-codes = Kode cadangan
new-codes-label = Kode autentikator (wajib untuk membuat kode baru)
new-codes = Buat kode cadangan baru
new-codes-wrong = Untuk membuat kode cadangan baru, diperlukan kode terkini dari aplikasi autentikator Anda.
code-not-accepted = Kode tidak diterima
sign-out-browser = Keluar dari browser ini
done-session = Sesi telah diakhiri.
done-device = Perangkat telah dicabut: perangkat ini harus melewati faktor kedua untuk masuk lagi.

## Signed out elsewhere
signed-out-title = Anda telah dikeluarkan
signed-out-again = Masuk lagi
why-revoked = Anda dikeluarkan karena sesi ini diakhiri dari halaman sesi dan perangkat, di browser ini atau browser lain.
why-reset = Anda dikeluarkan karena administrator mengatur ulang verifikasi dua langkah Anda. Masuk lagi untuk menyiapkannya kembali.
why-admin = Anda dikeluarkan karena administrator mengeluarkan Anda dari semua perangkat.
why-factor-changed = Anda dikeluarkan karena faktor kedua Anda diubah atau dinonaktifkan, yang membuat semua browser keluar.
why-recovered = Anda dikeluarkan karena akun Anda dipulihkan, yang membuat semua browser keluar.
why-grace-ended = Anda dikeluarkan karena verifikasi dua langkah kini wajib dan browser ini belum melewatinya.
why-inactive = Anda dikeluarkan karena sudah lama tidak masuk, sehingga data masuk Anda dihapus.
why-policy = Anda dikeluarkan karena peran atau lingkungan Anda tidak lagi mengizinkan sesi ini.
why-signed-out = Anda keluar karena Anda sendiri yang memilih keluar.
why-other = Anda dikeluarkan karena sesi Anda telah berakhir.

## Security settings
security-title = Keamanan
security-signed-in = Masuk sebagai <b>{ $user }</b>.
two-step = Verifikasi dua langkah
authenticator-app = Aplikasi autentikator
app-added = ditambahkan pada { $added }
app-used = , terakhir digunakan pada { $used }
not-set-up = belum disiapkan
email-codes = Kode email
not-available = tidak tersedia
email-on-to = aktif, ke { $address }
off = nonaktif
backup-left = Sisa kode cadangan
security-required = Verifikasi dua langkah wajib untuk akun Anda.
security-required-app = Verifikasi dua langkah wajib untuk akun Anda: siapkan aplikasi saat Anda masuk berikutnya, atau sekarang.
security-optional = Verifikasi dua langkah bersifat opsional di sini. Aktifkan agar Anda diminta memasukkan kode di setiap perangkat baru.
security-replace = Ganti aplikasi autentikator (ponsel baru)
security-set-up = Siapkan aplikasi autentikator
email-codes-off = Nonaktifkan kode email
email-codes-on = Aktifkan kode email
turn-off = Nonaktifkan verifikasi dua langkah
security-note = Mengubah atau menghapus faktor memerlukan kode baru, mengeluarkan sesi Anda yang lain, dan mengirimkan email kepada Anda.
security-devices = Sesi, perangkat tepercaya, dan kode cadangan baru
only-email-title = Kode email adalah satu-satunya faktor kedua Anda
only-email-text = Siapkan aplikasi autentikator terlebih dahulu: verifikasi dua langkah wajib untuk akun Anda.
required-title = Verifikasi dua langkah wajib
required-text = Lingkungan yang Anda gunakan mewajibkan verifikasi dua langkah, sehingga fitur ini tidak dapat dinonaktifkan.

## Problems
page-missing = Halaman ini tidak ada.
expired-title = Proses masuk kedaluwarsa
expired-text = Proses masuk Anda tidak lagi menunggu kode. Silakan masuk lagi.
refused-title = Permintaan ditolak
refused-text = Formulir ini sudah kedaluwarsa atau tidak berasal dari situs ini. Kembali, lalu coba lagi.
unavailable = Layanan masuk untuk sementara tidak tersedia. Tidak ada yang diubah.
went-wrong = Terjadi kesalahan. Tidak ada yang diubah.
problem-forbidden-role = Peran Anda tidak diizinkan melakukan tindakan ini di sini. Minta bantuan administrator.
problem-bad-path = Jalur permintaan tidak diizinkan.
problem-malformed = Format permintaan tidak valid.
problem-revoked = Sesi Anda telah berakhir. Silakan masuk lagi.
problem-bad-login = Permintaan masuk tidak dapat dibaca. Silakan coba lagi.
problem-too-large = Permintaan terlalu besar.
problem-member = Identitas anggota tidak dapat diverifikasi.
problem-insecure = Proses masuk tidak dapat diselesaikan dengan aman. Silakan hubungi administrator Anda.
problem-unavailable = Fitur masuk untuk sementara tidak tersedia. Silakan coba lagi sebentar lagi.
problem-too-many = Terlalu banyak percobaan masuk. Harap tunggu satu menit, lalu coba lagi.
problem-host = Gateway ini tidak melayani host yang diminta.
problem-unreachable = Dasbor tidak dapat dijangkau saat ini. Silakan coba lagi sebentar lagi.
problem-timeout = Dasbor terlalu lama merespons. Silakan coba lagi sebentar lagi.

status-400 = Permintaan tidak valid
status-401 = Belum masuk
status-403 = Ditolak
status-404 = Tidak ditemukan
status-413 = Terlalu besar
status-421 = Alamat salah
status-429 = Terlalu banyak permintaan
status-500 = Kesalahan gateway
status-502 = Dasbor tidak dapat dijangkau
status-503 = Tidak tersedia
status-504 = Dasbor terlalu lama menjawab

## Admin console
admin-users-title = Pengguna
admin-only-title = Khusus admin
admin-only-text = Konsol admin diperuntukkan bagi admin lingkungan ini.
admin-signed-in = Masuk sebagai <b>{ $user }</b> ({ $role }). Pengguna { $scope }.
admin-warned = { $count } pengguna di bawah ini belum memiliki faktor kedua dan akan dikeluarkan saat verifikasi dua langkah menjadi wajib bagi mereka.
admin-search = Cari
admin-role = Peran
admin-no-factor = tanpa faktor kedua
admin-blocked = diblokir
admin-filter = Filter
admin-total = { $total } pengguna
admin-page-of = , halaman { $page } dari { $pages }
admin-user = Pengguna
admin-environments = Lingkungan
admin-second-factor = Faktor kedua
admin-last-sign-in = Terakhir masuk
admin-sessions = Sesi
admin-authenticator = autentikator
admin-backup-count = , { $count } kode cadangan
admin-signed-out-on = : akan dikeluarkan pada { $date }
admin-blocked-until = diblokir hingga { $until }
admin-trusted-count = { $count } perangkat tepercaya
admin-previous = Sebelumnya
admin-next = Berikutnya
admin-recovery-link = Permintaan pemulihan
admin-open-count = ({ $count } terbuka)
admin-activity-link = Log aktivitas
admin-all-users = Semua pengguna
admin-email = Email untuk kode
admin-backup-left = Sisa kode cadangan
admin-last-mfa = Faktor kedua terakhir
admin-blocked-label = Diblokir
admin-until = hingga { $until }
admin-actions = Tindakan
admin-reason = Alasan (dicatat di log aktivitas)
admin-reset = Atur ulang verifikasi dua langkah
admin-logout = Keluarkan dari semua perangkat
admin-unblock = Buka blokir
admin-new-email = Alamat baru untuk kode dan pemberitahuan (alamat lama dan baru akan diberi tahu)
admin-change-email = Ubah alamat
admin-reset-note = Pengaturan ulang akan menghapus autentikator, kode cadangan, dan perangkat tepercaya, mengeluarkan pengguna dari semua perangkat, serta mengirimkan email kepadanya; pengguna akan menyiapkan faktor kedua lagi saat masuk berikutnya.
admin-recent = Aktivitas terbaru
admin-when = Waktu
admin-event = Peristiwa
admin-outcome = Hasil
admin-asked = Diajukan
admin-state = Status
admin-by = oleh { $who }
admin-approve = Setujui (atur ulang)
admin-dismiss = Tolak
admin-no-requests = Tidak ada permintaan pemulihan.
admin-no-user-title = Pengguna tidak ditemukan
admin-no-user-text = Pengguna tersebut tidak ada di lingkungan yang Anda kelola.
admin-owners-title = Khusus pemilik
admin-owners-text = Hanya pemilik yang dapat mengambil tindakan terhadap admin dan pemilik.
admin-own-title = Tidak untuk akun Anda sendiri
admin-own-text = Admin tidak dapat mengatur ulang atau mengeluarkan akunnya sendiri di sini. Gunakan pemulihan akun.
admin-bad-email-title = Bukan alamat email
admin-bad-email-text = Alamat baru untuk kode bukan alamat email yang valid. Kembali dan perbaiki.

## Activity-log exports
exports-title = Log aktivitas
exports-intro = Ekspor log aktivitas suatu periode sebagai JSON: proses masuk, faktor kedua, sesi dan perangkat, tindakan admin, serta ekspor itu sendiri. Peristiwa disimpan selama { $retention } hari; file ekspor dihapus { $expiry } hari setelah dibuat. Anda akan menerima email saat ekspor sudah siap.
exports-from = Dari (UTC)
exports-to = Sampai (UTC, termasuk)
exports-events = Peristiwa
exports-kind-sign-in = proses masuk
exports-kind-mfa = faktor kedua
exports-kind-session = sesi dan perangkat
exports-kind-admin = tindakan admin
exports-kind-activity = ekspor dan retensi
exports-export = Ekspor
exports-history = Riwayat unduhan
exports-col-period = Periode
exports-col-size = Ukuran
exports-col-downloads = Unduhan
exports-running = berjalan, { $progress } %
exports-count = { $events } peristiwa, { $size }
exports-download-by = { $at } oleh { $who }
exports-json = JSON
exports-ndjson = JSON lines
exports-none = Belum ada ekspor.
exports-refreshing = Halaman ini dimuat ulang secara otomatis selama ekspor berjalan.
exports-owners-text = Hanya pemilik yang dapat mengekspor log aktivitas.
exports-bad-period = Periode tidak valid untuk diekspor
exports-not-found = Ekspor tidak ditemukan
exports-not-ready = Belum siap
exports-gone = Ekspor telah dihapus
exports-later = Coba lagi nanti

## Emails (plain text; the brand starts every subject)
mail-footer = Pesan ini dikirim oleh sistem perlindungan masuk { $brand }. Pesan ini tidak pernah berisi tautan untuk masuk.
mail-footer-code = Pesan ini dikirim oleh sistem perlindungan masuk { $brand }. Pesan ini tidak pernah berisi tautan untuk masuk; tidak ada siapa pun dari { $brand } yang akan meminta kode ini kepada Anda.
mail-support = Butuh bantuan? Hubungi { $contact }.
mail-code-is = Kode Anda:
mail-otp-subject = kode masuk Anda
mail-otp-1 = Seseorang, semoga Anda sendiri, telah memasukkan kata sandi Anda dan meminta kode masuk.
mail-otp-2 = Kode ini hanya berlaku satu kali dan kedaluwarsa dalam { $minutes } menit.
mail-otp-3 = Jika ini bukan Anda, jangan bagikan kode ini dan ubah kata sandi Anda.
mail-device-subject = perangkat baru telah masuk
mail-device-1 = Perangkat baru telah melewati verifikasi dua langkah untuk akun Anda: { $device }, dari { $ip }, pada { $when }.
mail-device-2 = Jika ini bukan Anda, masuklah, cabut perangkat tersebut di halaman perangkat, lalu ubah kata sandi Anda.
mail-enrolled-subject = aplikasi autentikator telah disiapkan
mail-enrolled-1 = Aplikasi autentikator telah disiapkan untuk verifikasi dua langkah di akun Anda, dan kode cadangan baru telah dibuat.
mail-contact-admin = Jika ini bukan Anda, segera hubungi administrator Anda.
mail-codes-subject = kode cadangan baru
mail-codes-1 = Kode cadangan baru telah dibuat untuk akun Anda; kode sebelumnya tidak berlaku lagi.
mail-blocked-subject = kode masuk diblokir
mail-blocked-1 = Terlalu banyak kode salah yang dimasukkan untuk akun Anda. Pengisian kode diblokir hingga { $until }.
mail-blocked-2 = Jika ini bukan Anda, mungkin ada orang lain yang mengetahui kata sandi Anda: segera ubah kata sandi Anda.
mail-enforce-subject = verifikasi dua langkah akan menjadi wajib
mail-enforce-1 = Verifikasi dua langkah akan menjadi wajib untuk akun Anda mulai { $deadline }.
mail-enforce-2 = Siapkan saat Anda masuk berikutnya: setelah memasukkan kata sandi, Anda akan diminta { $asked }. Sesi tanpa verifikasi dua langkah akan berakhir pada tanggal tersebut, di semua perangkat.
mail-enforce-app-or-email = untuk menambahkan aplikasi autentikator, atau mengonfirmasi dengan kode yang dikirim lewat email
mail-enforce-app = untuk menambahkan aplikasi autentikator
mail-enforce-email = untuk mengonfirmasi dengan kode yang dikirim lewat email
mail-reset-subject = verifikasi dua langkah diatur ulang
mail-reset-1 = Administrator telah mengatur ulang verifikasi dua langkah untuk akun Anda: aplikasi autentikator, kode cadangan, dan perangkat tepercaya Anda tidak berlaku lagi, dan Anda telah dikeluarkan dari semua perangkat.
mail-reset-2 = Saat masuk berikutnya, Anda akan menyiapkan faktor kedua lagi.
mail-not-asked = Jika Anda tidak memintanya, segera hubungi administrator Anda.
mail-recovery-requested-subject = pengguna memerlukan pemulihan akun
mail-recovery-requested-1 = { $user } tidak dapat menggunakan faktor keduanya dan meminta agar verifikasi dua langkahnya diatur ulang.
mail-recovery-requested-2 = Setujui atau tolak permintaan ini di konsol admin, pada bagian Permintaan pemulihan. Pastikan terlebih dahulu kepada pengguna bahwa permintaan tersebut memang berasal darinya.
mail-export-subject = ekspor log aktivitas Anda sudah siap
mail-export-1 = Ekspor log aktivitas untuk { $period } sudah siap: { $events } peristiwa.
mail-export-2 = Unduh ekspor tersebut dari halaman Log aktivitas di konsol admin. File akan dihapus setelah beberapa hari.
mail-decided-subject = permintaan pemulihan Anda
mail-approved = Administrator telah menyetujui permintaan pemulihan Anda. Masuk lagi dan siapkan faktor kedua.
mail-dismissed = Administrator telah menolak permintaan pemulihan Anda. Hubungi administrator Anda jika Anda masih tidak dapat masuk.
mail-recovery-code-subject = kode pemulihan akun Anda
mail-recovery-code-1 = Seseorang, semoga Anda sendiri, telah masuk dengan kata sandi Anda dan meminta pemulihan akun karena faktor kedua tidak dapat digunakan.
mail-recovery-code-2 = Masukkan kode ini di halaman pemulihan dalam { $minutes } menit. Faktor kedua Anda kemudian akan diatur ulang dan Anda langsung menyiapkan yang baru.
mail-recovery-code-3 = Jika ini bukan Anda, jangan gunakan kode ini, ubah kata sandi Anda, dan beri tahu administrator lain.
mail-admin-recovered-subject = seorang admin telah memulihkan akunnya
mail-admin-recovered-1 = { $user } telah mengatur ulang verifikasi dua langkahnya sendiri dengan kode pemulihan yang dikirim ke alamat terdaftarnya, lalu menyiapkan faktor kedua yang baru.
mail-admin-recovered-2 = Jika hal ini tidak terduga, keluarkan pengguna tersebut melalui konsol admin dan konfirmasikan kepadanya.
mail-email-changed-subject = alamat untuk kode masuk diubah
mail-email-changed-1 = Administrator telah mengubah alamat tujuan kode masuk dan pemberitahuan keamanan untuk { $user }: mulai sekarang dikirim ke { $address }.
mail-factor-changed-subject = verifikasi dua langkah diubah
mail-factor-changed-1 = { $what }, dari { $device }.
mail-factor-changed-2 = Jika ini bukan Anda, segera hubungi administrator Anda: seseorang mungkin mengetahui kata sandi Anda dan memiliki kode.
mail-change-added = Aplikasi autentikator telah ditambahkan ke akun Anda
mail-change-replaced = Aplikasi autentikator Anda telah diganti dengan yang baru
mail-change-off = Verifikasi dua langkah telah dinonaktifkan untuk akun Anda
mail-change-email-on = Kode masuk lewat email telah diaktifkan untuk akun Anda
mail-change-email-off = Kode masuk lewat email telah dinonaktifkan untuk akun Anda

## Passkeys and security keys
passkey-title = Masuk dengan passkey
passkey-intro = Pastikan bahwa ini Anda, <b>{ $user }</b>, dengan passkey atau kunci keamanan Anda.
passkey-step-up = Halaman ini memerlukan konfirmasi baru, <b>{ $user }</b>: gunakan passkey atau kunci keamanan Anda.
passkey-use = Gunakan passkey saya
passkey-use-app = Gunakan aplikasi autentikator saja
passkey-use-app-instead = Siapkan aplikasi autentikator saja
passkey-register-title = Buat passkey
passkey-add-title = Tambahkan passkey
passkey-register-intro = Buat passkey untuk <b>{ $user }</b>: kunci layar, sidik jari atau wajah di perangkat Anda, atau kunci keamanan. Passkey hanya berfungsi di situs ini, sehingga halaman tiruan tidak dapat memakainya.
passkey-register-required = Peran Anda masuk dengan passkey, <b>{ $user }</b>. Buat sekarang: kunci layar, sidik jari atau wajah di perangkat Anda, atau kunci keamanan.
passkey-name = Nama
passkey-name-hint = Agar Anda mengenalinya nanti di halaman sesi, misalnya "MacBook Touch ID".
passkey-create = Buat passkey
passkey-needs-script = Passkey memerlukan JavaScript, yang nonaktif di browser ini. Gunakan cara konfirmasi lain di bawah, atau aktifkan JavaScript.
passkey-unsupported = Browser ini tidak dapat memakai passkey. Gunakan cara konfirmasi lain di bawah, atau browser lain.
passkey-failed = Passkey tidak digunakan: permintaan dibatalkan atau waktunya habis. Coba lagi.
passkey-refused = Passkey itu tidak berhasil. Coba lagi.
passkey-already = Passkey atau kunci keamanan ini sudah terdaftar.
passkey-synced = (tersinkron)
passkey-remove-row = Hapus passkey { $name }
passkey-add = Tambahkan passkey atau kunci keamanan
passkeys = Passkey dan kunci keamanan
passkeys-none = Belum ada.
choose-passkey = Gunakan passkey atau kunci keamanan
choose-passkey-note = disarankan: tidak dapat dicuri lewat phishing
step-up-passkey-needed-title = Perlu passkey
step-up-passkey-needed = Halaman ini memerlukan konfirmasi baru dengan passkey. Keluar dan masuk lagi untuk membuatnya.
done-passkey = Passkey ditambahkan.
done-passkey-removed = Passkey dihapus.
col-name = Nama
col-added = Ditambahkan
col-last-used = Terakhir dipakai
remove = Hapus
admin-passkeys = { $count } passkey
passkeys-manage = tambahkan atau hapus di halaman sesi
mail-change-passkey-added = Passkey atau kunci keamanan ditambahkan ke akun Anda
mail-change-passkey-removed = Passkey atau kunci keamanan dihapus dari akun Anda
passkey-last = Ini passkey terakhir Anda, dan akun Anda memerlukannya: tambahkan yang lain sebelum menghapusnya.
