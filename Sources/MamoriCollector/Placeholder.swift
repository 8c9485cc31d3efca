import Hummingbird
import HummingbirdTLS
import NIOSSL
import X509
import SQLiteNIO
import PostgresNIO
