import GRDB
import Tutela
