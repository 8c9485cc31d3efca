/// /etc/pam.d files as Debian 12 ships them (comments kept where they shape the text), and the
/// variants a site or an attacker makes of them.
enum PAMFixtures {
    /// common-auth as pam-auth-update writes it on a fresh Debian 12 (no pam_mamori).
    static let commonAuthStock = """
        #
        # /etc/pam.d/common-auth - authentication settings common to all services
        #
        # This file is included from other service-specific PAM config files,
        # and should contain a list of the authentication modules that define
        # the central authentication scheme for use on the system
        # (e.g., /etc/shadow, LDAP, Kerberos, etc.).  The default is to use the
        # traditional Unix authentication mechanisms.
        #
        # As of pam 1.0.1-6, this file is managed by pam-auth-update by default.
        # To take advantage of this, it is recommended that you configure any
        # local modules either before or after the default block, and use
        # pam-auth-update to manage selection of other modules.  See
        # pam-auth-update(8) for details.

        # here are the per-package modules (the "Primary" block)
        auth\t[success=1 default=ignore]\tpam_unix.so nullok
        # here's the fallback if no module succeeds
        auth\trequisite\t\t\tpam_deny.so
        # prime the stack with a positive return value if there isn't one already;
        # this avoids us returning an error just because nothing sets a success code
        # since the modules above will each just jump around
        auth\trequired\t\t\tpam_permit.so
        # and here are more per-package modules (the "Additional" block)
        auth\toptional\t\t\tpam_cap.so 
        # end of pam-auth-update config

        """

    /// The same after `pam-auth-update --enable mamori` (packaging/pam-configs/mamori: Additional).
    static let commonAuthMamori = """
        # /etc/pam.d/common-auth - authentication settings common to all services
        # As of pam 1.0.1-6, this file is managed by pam-auth-update by default.

        # here are the per-package modules (the "Primary" block)
        auth\t[success=1 default=ignore]\tpam_unix.so nullok
        # here's the fallback if no module succeeds
        auth\trequisite\t\t\tpam_deny.so
        # prime the stack with a positive return value if there isn't one already;
        # this avoids us returning an error just because nothing sets a success code
        # since the modules above will each just jump around
        auth\trequired\t\t\tpam_permit.so
        # and here are more per-package modules (the "Additional" block)
        auth\trequired\t\t\tpam_mamori.so
        auth\toptional\t\t\tpam_cap.so 
        # end of pam-auth-update config

        """

    /// pam_mamori wrongly placed in the Primary block: pam_unix's success=2 jumps over it.
    static let commonAuthMamoriPrimary = """
        # here are the per-package modules (the "Primary" block)
        auth\t[success=2 default=ignore]\tpam_unix.so nullok
        auth\t[success=1 default=ignore]\tpam_mamori.so
        # here's the fallback if no module succeeds
        auth\trequisite\t\t\tpam_deny.so
        auth\trequired\t\t\tpam_permit.so
        auth\toptional\t\t\tpam_cap.so

        """

    static let sshd = """
        # PAM configuration for the Secure Shell service

        # Standard Un*x authentication.
        @include common-auth

        # Disallow non-root logins when /etc/nologin exists.
        account    required     pam_nologin.so

        # Uncomment and edit /etc/security/access.conf if you need to set complex
        # access limits that are hard to express in sshd_config.
        # account  required     pam_access.so

        # Standard Un*x authorization.
        @include common-account

        # SELinux needs to be the first session rule.  This ensures that any
        # lingering context has been cleared.  Without this it is possible that a
        # module could execute code in the wrong domain.
        session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so close

        # Set the loginuid process attribute.
        session    required     pam_loginuid.so

        # Standard Un*x session setup and teardown.
        @include common-session

        # Standard Un*x password updating.
        @include common-password

        """

    static let sudo = """
        #%PAM-1.0

        # Set up user limits from /etc/security/limits.d/sudo.conf
        session    required   pam_limits.so

        @include common-auth
        @include common-account
        @include common-session-noninteractive

        """

    static let su = """
        #
        # The PAM configuration file for the Shadow `su' service
        #

        # This allows root to su without passwords (normal operation)
        auth       sufficient pam_rootok.so

        # Uncomment this to force users to be a member of group wheel
        # before they can use `su'. You can also add "group=foo"
        # to the end of this line if you want to use a group other
        # than the default "wheel" (but this may have side effect of
        # denying "root" user, unless she's a member of "foo" or explicitly
        # permitted earlier by e.g. "sufficient pam_rootok.so").
        # (Replaces the `SU_WHEEL_ONLY' option from login.defs)
        # auth       required   pam_wheel.so

        session       required   pam_env.so readenv=1
        session       required   pam_env.so readenv=1 envfile=/etc/default/locale

        # Defines the MAIL environment variable
        session    optional   pam_mail.so nopen

        # Sets up user limits according to /etc/security/limits.conf
        session    required   pam_limits.so

        # The standard Unix authentication modules, used with
        # NIS (man nsswitch) as well as normal /etc/passwd and
        # /etc/shadow entries.
        @include common-auth
        @include common-account
        @include common-session

        """

    static let login = """
        #
        # The PAM configuration file for the Shadow `login' service
        #

        # Enforce a minimal delay in case of failure (in microseconds).
        auth       optional   pam_faildelay.so  delay=3000000

        # Disallows other than root logins when /etc/nologin exists
        auth       requisite  pam_nologin.so

        # SELinux needs to be the first session rule.
        session [success=ok ignore=ignore module_unknown=ignore default=bad] pam_selinux.so close

        session       required   pam_loginuid.so
        session       optional   pam_motd.so motd=/run/motd.dynamic
        session       optional   pam_motd.so noupdate
        session       required   pam_env.so readenv=1
        session       required   pam_env.so readenv=1 envfile=/etc/default/locale

        # Standard Un*x authentication.
        @include common-auth

        # This allows certain extra groups to be granted to a user
        auth       optional   pam_group.so

        session    required   pam_limits.so
        session    optional   pam_lastlog.so
        session    optional   pam_mail.so standard
        session    optional   pam_keyinit.so force revoke

        @include common-account
        @include common-session
        @include common-password

        """

    static let gdmPassword = """
        #%PAM-1.0
        auth    requisite       pam_nologin.so
        auth\trequired\tpam_succeed_if.so user != root quiet_success
        @include common-auth
        auth    optional        pam_gnome_keyring.so
        @include common-account
        # SELinux needs to be the first session rule. This ensures that any
        # lingering context has been cleared. Without this it is possible
        # that a module could execute code in the wrong domain.
        session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so close
        session\trequired\tpam_loginuid.so
        session optional        pam_keyinit.so force revoke
        session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so open
        session optional        pam_gnome_keyring.so auto_start
        @include common-session
        @include common-password

        """

    /// Debian's /etc/pam.d/other (used when a service has no file or no auth lines).
    static let other = """
        #
        # /etc/pam.d/other - specify the PAM fallback behaviour
        #
        @include common-auth
        @include common-account
        @include common-password
        @include common-session

        """

    static let commonAccount = """
        account\t[success=1 new_authtok_reqd=done default=ignore]\tpam_unix.so
        account\trequisite\t\t\tpam_deny.so
        account\trequired\t\t\tpam_permit.so

        """

    /// The files of a Debian 12 terminal with pam_mamori enabled through pam-auth-update.
    static var debianWithMamori: [String: String] {
        [
            "common-auth": commonAuthMamori, "common-account": commonAccount, "common-session": "session required pam_unix.so\n",
            "common-session-noninteractive": "session required pam_unix.so\n", "common-password": "password required pam_unix.so\n",
            "sshd": sshd, "sudo": sudo, "su": su, "login": login, "gdm-password": gdmPassword, "other": other,
        ]
    }

    /// RHEL 9's password-auth as authselect writes it (profile sssd), and its sshd, which pulls
    /// it in as a substack.
    static let rhelPasswordAuth = """
        # Generated by authselect
        # Do not modify this file manually, use authselect instead. Any user changes will be lost.
        # You can stop authselect from managing your configuration by calling 'authselect opt-out'.
        # See authselect(8) for more details.

        auth        required                                     pam_env.so
        auth        required                                     pam_faildelay.so delay=2000000
        auth        [default=1 ignore=ignore success=ok]         pam_usertype.so isregular
        auth        [default=1 ignore=ignore success=ok]         pam_localuser.so
        auth        sufficient                                   pam_unix.so nullok
        auth        [default=1 ignore=ignore success=ok]         pam_usertype.so isregular
        auth        sufficient                                   pam_sss.so forward_pass
        auth        required                                     pam_deny.so

        account     required                                     pam_unix.so

        """

    static let rhelSshd = """
        #%PAM-1.0
        auth       substack     password-auth
        auth       include      postlogin
        account    required     pam_sepermit.so
        account    required     pam_nologin.so
        account    include      password-auth
        password   include      password-auth
        # pam_selinux.so close should be the first session rule
        session    required     pam_selinux.so close
        session    required     pam_loginuid.so

        """

    static let rhelPostlogin = """
        # Generated by authselect
        session     optional                   pam_umask.so silent
        session     [success=1 default=ignore] pam_succeed_if.so service !~ gdm* service !~ su* quiet
        session     [default=1]                pam_lastlog.so nowtmp showfailed
        session     optional                   pam_lastlog.so silent noupdate showfailed

        """
}
