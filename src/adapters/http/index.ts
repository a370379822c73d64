export {HttpError, httpGet, httpGetJson, type HttpGetOptions, type HttpResponse, type HttpTls} from './client.js'
